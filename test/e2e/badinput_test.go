package e2e

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/testutil"
)

// fakeRTSP serves a scripted RTSP peer: answer returns the response to one
// request (given its method and CSeq). It is closed at test cleanup.
func fakeRTSP(t *testing.T, answer func(method, cseq string) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				rd := bufio.NewReader(c)
				for {
					method, cseq, err := readRequest(rd)
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(answer(method, cseq))); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "rtsp://" + ln.Addr().String() + "/stream"
}

func readRequest(rd *bufio.Reader) (method, cseq string, err error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return "", "", err
	}
	method = strings.Fields(line + " x")[0]
	for {
		h, err := rd.ReadString('\n')
		if err != nil {
			return "", "", err
		}
		h = strings.TrimSpace(h)
		if h == "" {
			return method, cseq, nil
		}
		if k, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(k, "cseq") {
			cseq = strings.TrimSpace(v)
		}
	}
}

// absurdSPS is an H.264 baseline SPS declaring a 65520x65520 picture.
func absurdSPS() []byte { return testutil.H264SPS(4095, 4095) }

func sdpAnswer(sdp string) func(string, string) string {
	return func(method, cseq string) string {
		if method == "DESCRIBE" {
			return fmt.Sprintf("RTSP/1.0 200 OK\r\nCSeq: %s\r\nContent-Base: rtsp://x/stream/\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", cseq, len(sdp), sdp)
		}
		if method == "SETUP" {
			return fmt.Sprintf("RTSP/1.0 200 OK\r\nCSeq: %s\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 12345678\r\n\r\n", cseq)
		}
		return fmt.Sprintf("RTSP/1.0 200 OK\r\nCSeq: %s\r\nPublic: DESCRIBE, SETUP, PLAY\r\nSession: 12345678\r\n\r\n", cseq)
	}
}

// Cameras that answer garbage, a bogus SDP, or a picture of absurd size are
// marked with a clear error; the good camera beside them records cleanly.
func TestBadCamerasDoNotDisturbOthers(t *testing.T) {
	good := startSim(t, 1)[0]
	garbage := fakeRTSP(t, func(string, string) string { return "HTTP/1.1 418 I'm a teapot\r\n\r\n\x00\xff\xfe garbage" })
	bogus := fakeRTSP(t, sdpAnswer("this is not an sdp\r\nm=video banana\r\n"))
	// A valid SDP whose SPS says 65520x65520.
	absurd := fakeRTSP(t, sdpAnswer("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"+
		"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"+
		"a=fmtp:96 packetization-mode=1; sprop-parameter-sets="+base64.StdEncoding.EncodeToString(absurdSPS())+
		",aM48gA==\r\na=control:trackID=0\r\n"))
	data := filepath.Join(t.TempDir(), "data")
	h := startHub(t, data, fmt.Sprintf(`record: {segment: 2s}
cameras:
  - {id: good, source: %q, transport: tcp}
  - {id: garbage, source: %q, transport: tcp}
  - {id: bogus-sdp, source: %q, transport: tcp}
  - {id: absurd, source: %q, transport: tcp}
`, good, garbage, bogus, absurd))
	h.waitState("good", "online", 20*time.Second)
	time.Sleep(6 * time.Second)
	for _, id := range []string{"garbage", "bogus-sdp", "absurd"} {
		c := h.waitError(id, 20*time.Second)
		if c.Status.State != "offline" {
			t.Errorf("camera %s is %s", id, c.Status.State)
		}
		t.Logf("%s: %s", id, c.Status.Error)
	}
	h.waitState("good", "online", time.Second)
	if !strings.Contains(h.Stderr(), "65520") && !strings.Contains(strings.ToLower(h.Stderr()), "resolution") {
		t.Errorf("no clear log line about the absurd picture size:\n%s", h.Stderr())
	}
	h.stop()
	frames, _ := checkSegments(t, data, "good", 10)
	if frames < 50 {
		t.Errorf("good camera recorded %d frames beside the bad ones", frames)
	}
}

// A corrupt and a truncated segment on disk at start-up: the hub logs one
// clear line for each, keeps what plays, and records on.
func TestCorruptSegmentsAtStartup(t *testing.T) {
	urls := startSim(t, 2)
	conf := fmt.Sprintf("record: {segment: 2s}\ncameras:\n  - {id: a, source: %q, transport: tcp}\n  - {id: b, source: %q, transport: tcp}\n", urls[0], urls[1])
	data := filepath.Join(t.TempDir(), "data")
	h := startHub(t, data, conf)
	h.waitState("a", "online", 20*time.Second)
	time.Sleep(7 * time.Second)
	h.stop()
	segs := indexSegments(t, data, "a")
	if len(segs) < 3 {
		t.Fatalf("%d segments", len(segs))
	}
	root := filepath.Join(data, "recordings")
	// Truncate a segment in its middle, overwrite another's header.
	trunc := filepath.Join(root, segs[0].Path)
	if err := os.Truncate(trunc, segs[0].Bytes/2); err != nil {
		t.Fatal(err)
	}
	smash := filepath.Join(root, segs[1].Path)
	if err := os.WriteFile(smash, []byte("this is no longer a video file at all"), 0o640); err != nil {
		t.Fatal(err)
	}
	h2 := startHub(t, data, conf)
	h2.waitState("a", "online", 20*time.Second)
	time.Sleep(3 * time.Second)
	h2.stop()
	log := h2.Stderr()
	if !strings.Contains(log, "moved to quarantine") || !strings.Contains(log, "size differs from the index") {
		t.Errorf("no clear log lines about the damaged files:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(root, "quarantine", segs[1].Path)); err != nil {
		t.Errorf("smashed file not quarantined: %v", err)
	}
	// Everything indexed plays, before and after the restart.
	after := indexSegments(t, data, "a")
	var restart time.Time
	for _, s := range after {
		if s.Start.After(segs[len(segs)-1].End) && restart.IsZero() {
			restart = s.Start
		}
	}
	checkSegmentsAllowingRestart(t, data, "a", 10, restart.Add(-time.Millisecond))
	checkSegmentsAllowingRestart(t, data, "b", 10, restart.Add(-time.Second))
}
