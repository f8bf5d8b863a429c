package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/segment"
	"github.com/vigil-video/vigil/internal/testutil"
	"github.com/vigil-video/vigil/internal/uplink"
)

// What a gateway may not do: enrol with a wrong token or against the
// wrong certificate, upload for a camera of another site, have a
// truncated or corrupted upload stored past its good prefix, or go on
// uploading and pushing once revoked.
func TestGatewayBadInput(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	h := startGatewayHub(t, data)
	s := setupSite(t, h, "d", siteCameras(t, "d", 1, false))
	g := s.gw
	h.api("POST", "/api/v1/sites", map[string]any{"id": "e"}, nil, 201)
	h.api("POST", "/api/v1/cameras", map[string]any{"id": "e1", "site": "e"}, nil, 201)
	pin := g.token[strings.LastIndexByte(g.token, '~')+1:]

	t.Run("enrolment", func(t *testing.T) {
		cases := []struct {
			name, token string
			want        []string // in the error output, any case
		}{
			{"wrong token", "vge_thisisnotthetoken0123456789~" + pin, []string{"token"}},
			{"wrong pin", "vge_thisisnotthetoken0123456789~" + strings.Repeat("0", 64), []string{"certificate"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "gw")
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, vigilBin, "gateway", "--hub", "https://"+g.http.Addr(),
					"--token", tc.token, "--data", dir)
				out, err := cmd.CombinedOutput()
				if ctx.Err() != nil {
					t.Fatalf("gateway with a bad token still running after 30 s:\n%s", out)
				}
				if err == nil {
					t.Fatalf("gateway with a bad token exited 0:\n%s", out)
				}
				for _, w := range tc.want {
					if !strings.Contains(strings.ToLower(string(out)), w) {
						t.Errorf("error output lacks %q:\n%s", w, out)
					}
				}
				if strings.Contains(string(out), "thisisnotthetoken") {
					t.Errorf("the token is in the output:\n%s", out)
				}
				if _, err := os.Stat(filepath.Join(dir, "gateway.json")); err == nil {
					t.Error("a refused enrolment left a gateway.json")
				}
				t.Logf("the gateway says: %s", tailLines(string(out), 1))
			})
		}
	})

	// Real fragments: a hub recording of camera d1 (the gateway's uploads).
	cred := g.credential()
	frags, init := hubFragments(t, data, "d1", 8)
	origin := randomOrigin(t)
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	stream := func(from, to int, mangle func(body []byte, last int) []byte) []byte {
		var buf bytes.Buffer
		enc := uplink.NewEncoder(&buf)
		at := base
		for i := range frags[:from-1] {
			at = at.Add(frags[i].dur)
		}
		lastLen := 0
		for seq := from; seq <= to; seq++ {
			f := frags[seq-1]
			if err := enc.Write(uplink.Fragment{Seq: uint64(seq), Init: init, Data: f.data, Start: at,
				Duration: f.dur, Key: f.key}); err != nil {
				t.Fatal(err)
			}
			at = at.Add(f.dur)
			lastLen = len(f.data)
		}
		if mangle != nil {
			return mangle(buf.Bytes(), lastLen)
		}
		return buf.Bytes()
	}
	probe := "d-probe" // a camera of the gateway's site it uploads nothing for

	t.Run("uploads", func(t *testing.T) {
		cases := []struct {
			name       string
			camera     string
			body       []byte
			want       int
			wantSeq    uint64 // the answer's progress (200, 400)
			wantReason string
		}{
			{"good", probe, stream(1, 3, nil), 200, 3, ""},
			{"camera of another site", "e1", stream(1, 3, nil), 403, 0, "site"},
			{"truncated in the last fragment", probe, stream(4, 6, func(b []byte, last int) []byte {
				return b[:len(b)-last/2]
			}), 400, 5, ""},
			{"corrupted last fragment", probe, stream(6, 8, func(b []byte, last int) []byte {
				b = bytes.Clone(b)
				b[len(b)-last/2] ^= 0x55
				return b
			}), 400, 7, ""},
			{"not a fragment stream", probe, []byte("GET / HTTP/1.1\r\n\r\n"), 400, 7, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				code, body := uplinkDo(t, h, cred, "POST", uplink.FragmentsPath(tc.camera, origin), tc.body)
				if code != tc.want {
					t.Fatalf("status %d, want %d: %s", code, tc.want, body)
				}
				var ok uplink.Progress
				var ans struct {
					Error    string
					Progress *uplink.Progress
				}
				if json.Unmarshal(body, &ok) != nil || json.Unmarshal(body, &ans) != nil {
					t.Fatalf("answer %s is not JSON", body)
				}
				switch {
				case code == 200 && ok.LastSeq != tc.wantSeq:
					t.Errorf("progress %s, want last seq %d", body, tc.wantSeq)
				case code == 400 && (ans.Progress == nil || ans.Progress.LastSeq != tc.wantSeq):
					t.Errorf("400 answer %s: want progress with last seq %d (the good prefix)", body, tc.wantSeq)
				case code >= 400 && !strings.Contains(ans.Error, tc.wantReason):
					t.Errorf("error %q lacks %q", ans.Error, tc.wantReason)
				}
				// What the hub says it holds, asked afresh.
				if tc.camera == probe {
					code, body := uplinkDo(t, h, cred, "GET", uplink.FragmentsPath(probe, origin), nil)
					var p uplink.Progress
					if code != 200 || json.Unmarshal(body, &p) != nil || p.LastSeq != tc.wantSeq {
						t.Errorf("GET progress: %d %s, want last seq %d", code, body, tc.wantSeq)
					}
				}
			})
		}
	})

	t.Run("revoked", func(t *testing.T) {
		if code, body := uplinkDo(t, h, cred, "GET", uplink.PathConfig, nil); code != 200 {
			t.Fatalf("config before revocation: %d %s", code, body)
		}
		pushURL := "rtsps://" + g.id + ":" + cred + "@" + g.rtsp.Addr() + "/" + probe
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if p := testutil.StartFFmpegPush(t, pushURL, testutil.PushOptions{Frames: 10}); p.Wait(ctx) != nil {
			t.Fatalf("live push with the gateway's credential before revocation: %s", p.Stderr())
		}
		revokedAt := time.Now()
		h.api("DELETE", "/api/v1/gateways/"+g.id, nil, nil, 204)
		for _, r := range []struct {
			method, path string
			body         []byte
		}{
			{"GET", uplink.PathConfig, nil},
			{"GET", uplink.FragmentsPath(probe, origin), nil},
			{"POST", uplink.FragmentsPath(probe, origin), stream(8, 8, nil)},
		} {
			if code, body := uplinkDo(t, h, cred, r.method, r.path, r.body); code != 401 {
				t.Errorf("%s %s with a revoked credential: %d %s, want 401", r.method, r.path, code, body)
			}
		}
		if p := testutil.StartFFmpegPush(t, pushURL, testutil.PushOptions{Frames: 10}); p.Wait(ctx) == nil {
			t.Error("live push with a revoked credential accepted")
		}
		time.Sleep(5 * time.Second) // the gateway's uploads and reports meanwhile
		if !g.running() {
			t.Error("a revoked gateway exited; it should keep recording and retry")
		}
		gi := h.gateway(g.id)
		if seen, err := time.Parse(time.RFC3339Nano, lastSeen(gi.Status)); err == nil && seen.After(revokedAt.Add(time.Second)) {
			t.Errorf("a revoked gateway's status was still taken: %s", gi)
		}
		if !strings.Contains(g.log.String(), "refused the gateway's credential") {
			t.Errorf("the gateway's log does not say the hub refused its credential")
		}
		gwOrigin := g.origin()
		g.stop()
		h.stop()
		// Nothing from the gateway after the revocation (an upload under
		// way then may finish: 2 s); the hub pulls the camera itself again.
		for _, sg := range indexSegments(t, data, "d1") {
			if sg.Origin == gwOrigin && sg.End.After(revokedAt.Add(2*time.Second)) {
				t.Errorf("segment %s from the revoked gateway ends at %s, %v after the revocation",
					sg.Path, sg.End.Format("15:04:05.000"), sg.End.Sub(revokedAt))
			}
		}
		// The uploads: seqs 1..7 exactly (the good prefixes, the torn seq 6
		// sent again whole), playable, joined; nothing for e1.
		segs := indexSegments(t, data, probe)
		var n int
		for _, sg := range segs {
			if sg.Origin != origin {
				t.Errorf("%s: origin %q", sg.Path, sg.Origin)
			}
			n += len(sg.Fragments)
		}
		if len(segs) == 0 || segs[0].FirstSeq != 1 || n != 7 {
			t.Errorf("camera %s: %d segments holding %d fragments, want seqs 1..7", probe, len(segs), n)
		}
		if len(segs) > 0 {
			want := 0
			for _, f := range frags[:7] {
				want += f.frames
			}
			if got := checkList(t, data, segs, 10); got != want {
				t.Errorf("camera %s: %d frames stored, the 7 good fragments hold %d", probe, got, want)
			}
		}
		if segs := indexSegments(t, data, "e1"); len(segs) != 0 {
			t.Errorf("camera e1 of another site has %d segments", len(segs))
		}
	})
}

// hubFragment is one fragment of a hub recording.
type hubFragment struct {
	data   []byte
	dur    time.Duration
	key    bool
	frames int
}

// hubFragments waits (30 s at most) until the hub has recorded n complete
// fragments of camera in one file and returns them with their init.
func hubFragments(t *testing.T, data, camera string, n int) ([]hubFragment, []byte) {
	t.Helper()
	dir := filepath.Join(data, "recordings", camera)
	var frags []hubFragment
	var init []byte
	waitFor(t, 30*time.Second, "a recording of "+camera+" with enough fragments", func() (bool, string) {
		var files []string
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".mp4") {
				files = append(files, p)
			}
			return nil
		})
		best := 0
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			res, err := segment.Scan(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				continue
			}
			best = max(best, len(res.Fragments))
			if len(res.Fragments) < n {
				continue
			}
			// as a gateway sends them: one moof+mdat each, without the
			// padding the hub's recorder adds
			init = segment.TrimPadding(b[:res.InitSize])
			frags = frags[:0]
			for _, fi := range res.Fragments[:n] {
				frags = append(frags, hubFragment{data: segment.TrimPadding(b[fi.Offset : fi.Offset+fi.Size]),
					dur: segment.Ticks(fi.Duration, res.Timescale()), key: fi.Key, frames: fi.Samples})
			}
			return true, ""
		}
		return false, "best file has " + itoa(best) + " fragments"
	})
	return frags, init
}

func randomOrigin(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// uplinkDo calls the hub's uplink API with a gateway credential.
func uplinkDo(t *testing.T, h *hubProc, cred, method, path string, body []byte) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, h.http+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+cred)
	if body != nil {
		req.Header.Set("Content-Type", uplink.ContentType)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
