package rtsp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"

	"github.com/vigil-video/vigil/internal/depacket"
	"github.com/vigil-video/vigil/internal/sim"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/supervise"
)

// badServer is a gortsplib server that serves one H.264 media at any path
// and sends whatever packets its feed returns, 100 per second.
type badServer struct {
	srv    *gortsplib.Server
	stream *gortsplib.ServerStream
	medi   *description.Media
}

func (b *badServer) OnDescribe(*gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return &base.Response{StatusCode: base.StatusOK}, b.stream, nil
}

func (b *badServer) OnSetup(*gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return &base.Response{StatusCode: base.StatusOK}, b.stream, nil
}

func (b *badServer) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// startBadServer serves forma and feeds packets from next (nil: none).
func startBadServer(t *testing.T, ctx context.Context, forma format.Format, next func(i int) *rtp.Packet) string {
	t.Helper()
	b := &badServer{medi: &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{forma}}}
	b.srv = &gortsplib.Server{Handler: b, RTSPAddress: "127.0.0.1:0"}
	if err := b.srv.Start(); err != nil {
		t.Fatal(err)
	}
	b.stream = &gortsplib.ServerStream{Server: b.srv, Desc: &description.Session{Medias: []*description.Media{b.medi}}}
	if err := b.stream.Initialize(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	feedCtx, stop := context.WithCancel(ctx)
	if next != nil {
		wg.Go(func() {
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-feedCtx.Done():
					return
				case <-tick.C:
				}
				if p := next(i); p != nil {
					_ = b.stream.WritePacketRTP(b.medi, p)
				}
			}
		})
	}
	t.Cleanup(func() {
		stop()
		wg.Wait()
		b.stream.Close()
		b.srv.Close()
	})
	return "rtsp://" + b.srv.NetListener().Addr().String() + "/cam"
}

// runFor runs a source on url for at most d and returns Run's result and
// the source.
func runFor(t *testing.T, url string, d time.Duration, logs *bytes.Buffer) (error, *Source, *collector) {
	t.Helper()
	st := stream.New("cam", stream.Options{})
	col := &collector{}
	st.AddReader(col)
	log := slog.New(slog.DiscardHandler)
	if logs != nil {
		log = slog.New(slog.NewTextHandler(&lockedBuffer{b: logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	src := New(Config{URL: url, Transport: TransportTCP, ReadTimeout: 2 * time.Second}, st, log)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return src.Run(ctx), src, col
}

type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func clipFormat(t *testing.T) (*sim.Clip, *format.H264) {
	t.Helper()
	c, err := sim.DefaultClip()
	if err != nil {
		t.Fatal(err)
	}
	return c, &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: c.SPS, PPS: c.PPS}
}

func TestGarbageRTP(t *testing.T) {
	c, forma := clipFormat(t)
	rng := rand.New(rand.NewPCG(7, 8))
	var mu sync.Mutex
	random := func(int) *rtp.Packet {
		mu.Lock()
		defer mu.Unlock()
		p := make([]byte, 1+rng.IntN(1400))
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		return &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Marker: rng.IntN(3) == 0,
			Timestamp: rng.Uint32(), SequenceNumber: uint16(rng.Uint32())}, Payload: p}
	}
	// truncated: the clip's NAL units cut short, in single-NALU packets
	var seq uint16
	truncated := func(i int) *rtp.Packet {
		f := c.Frames[i%len(c.Frames)]
		n := f.NALUs[len(f.NALUs)-1]
		mu.Lock()
		cut := 1 + rng.IntN(len(n))
		mu.Unlock()
		seq++
		return &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Marker: true,
			Timestamp: uint32(i * 9000), SequenceNumber: seq}, Payload: n[:min(cut, 1400)]}
	}
	for name, feed := range map[string]func(int) *rtp.Packet{"random payloads": random, "truncated nal units": truncated} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			url := startBadServer(t, ctx, forma, feed)
			err, src, col := runFor(t, url, 2*time.Second, nil)
			// garbage is dropped; random bytes that look like unusable
			// parameter sets may end the session with a ParamsError
			var pe *depacket.ParamsError
			if err != nil && !errors.As(err, &pe) {
				t.Fatalf("Run = %v, want nil or a ParamsError", err)
			}
			if err == nil && src.Status().Stats.Dropped == 0 && name == "random payloads" {
				t.Fatal("nothing counted as dropped")
			}
			_, units := col.snapshot()
			for _, u := range units {
				checkAVCC(t, u.AppendAVCC(nil))
			}
		})
	}
}

func TestAbsurdResolution(t *testing.T) {
	huge := hugeSPS()
	pps := []byte{0x68, 0xce, 0x38, 0x80}
	inBand := func(i int) *rtp.Packet {
		payload := []byte{24} // STAP-A: SPS, PPS, IDR
		for _, n := range [][]byte{huge, pps, {0x65, 0x88, 0x84, 0x00}} {
			payload = append(payload, byte(len(n)>>8), byte(len(n)))
			payload = append(payload, n...)
		}
		return &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Marker: true,
			Timestamp: uint32(i * 3600), SequenceNumber: uint16(i)}, Payload: payload}
	}
	tests := []struct {
		name  string
		forma *format.H264
		feed  func(int) *rtp.Packet
	}{
		{"in the sdp", &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: huge, PPS: pps}, nil},
		{"in band", &format.H264{PayloadTyp: 96, PacketizationMode: 1}, inBand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			url := startBadServer(t, ctx, tt.forma, tt.feed)
			err, src, col := runFor(t, url, 10*time.Second, nil)
			var pe *depacket.ParamsError
			if !errors.As(err, &pe) || !errors.Is(err, depacket.ErrResolution) {
				t.Fatalf("Run = %v, want a ParamsError with ErrResolution", err)
			}
			if !strings.Contains(err.Error(), "16384x16384") {
				t.Fatalf("error %q does not name the resolution", err)
			}
			if !errors.Is(src.LastError(), depacket.ErrResolution) {
				t.Fatalf("LastError = %v", src.LastError())
			}
			if _, units := col.snapshot(); len(units) != 0 {
				t.Fatal("units published")
			}
		})
	}
}

// hugeSPS is a baseline SPS declaring 16384x16384 pixels.
func hugeSPS() []byte {
	// profile 66, level 40, poc type 2, 1 ref frame, 1024x1024
	// macroblocks, frame_mbs_only, direct_8x8, no cropping, no VUI (made
	// by depacket's test SPS writer).
	return []byte{0x67, 0x42, 0x00, 0x28, 0xda, 0x00, 0x10, 0x00, 0x00, 0x80, 0x19}
}

// fakeRTSP answers OPTIONS and DESCRIBE with fixed responses on raw TCP.
func fakeRTSP(t *testing.T, describe func(cseq string) string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { serveFake(c, describe) })
		}
	})
	t.Cleanup(func() { l.Close(); wg.Wait() })
	return "rtsp://" + l.Addr().String() + "/cam"
}

func serveFake(c net.Conn, describe func(cseq string) string) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for {
		var req base.Request
		if err := req.Unmarshal(br); err != nil {
			return
		}
		cseq := req.Header["CSeq"][0]
		switch req.Method {
		case base.Options:
			fmt.Fprintf(c, "RTSP/1.0 200 OK\r\nCSeq: %s\r\nPublic: DESCRIBE, SETUP, PLAY\r\n\r\n", cseq)
		case base.Describe:
			_, _ = c.Write([]byte(describe(cseq)))
		default:
			fmt.Fprintf(c, "RTSP/1.0 501 Not Implemented\r\nCSeq: %s\r\n\r\n", cseq)
		}
	}
}

func sdpResponse(body string) func(string) string {
	return func(cseq string) string {
		return fmt.Sprintf("RTSP/1.0 200 OK\r\nCSeq: %s\r\nContent-Type: application/sdp\r\nContent-Base: rtsp://x/cam/\r\nContent-Length: %d\r\n\r\n%s",
			cseq, len(body), body)
	}
}

func TestBogusSDP(t *testing.T) {
	tests := []struct {
		name string
		resp func(string) string
		want string
	}{
		{"garbage body", sdpResponse("this is not an sdp\x00\xff"), "describe"},
		{"no medias", sdpResponse("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\n"), "describe"},
		{"only unsupported media", sdpResponse("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n"), "no supported media track"},
		{"bad sprop", sdpResponse("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1; sprop-parameter-sets=!!!,???\r\n"), "describe"},
		{"wrong content type", func(cseq string) string {
			return fmt.Sprintf("RTSP/1.0 200 OK\r\nCSeq: %s\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello", cseq)
		}, "describe"},
		{"truncated response", func(cseq string) string {
			return fmt.Sprintf("RTSP/1.0 200 OK\r\nCSeq: %s\r\nContent-Length: 500\r\n\r\nv=0", cseq)
		}, "describe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := fakeRTSP(t, tt.resp)
			start := time.Now()
			err, _, _ := runFor(t, url, 10*time.Second, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run = %v, want an error about %q", err, tt.want)
			}
			if time.Since(start) > 8*time.Second {
				t.Fatalf("took %v", time.Since(start))
			}
		})
	}
}

func TestPasswordNeverShown(t *testing.T) {
	const secret = "topsecretpw"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := startSim(t, ctx, sim.Config{User: "admin", Pass: "right-password"})
	closed := func() string { // a port nobody listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}()
	urls := map[string]string{
		"wrong password":     "rtsp://admin:" + secret + "@" + s.Addr() + "/cam1",
		"connection refused": "rtsp://admin:" + secret + "@" + closed + "/cam1",
		"unknown path":       "rtsp://admin:" + secret + "@" + s.Addr() + "/nope",
	}
	for name, url := range urls {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			err, src, _ := runFor(t, url, 10*time.Second, &logs)
			if err == nil {
				t.Fatal("Run succeeded")
			}
			for _, text := range []string{err.Error(), src.LastError().Error(), logs.String(), fmt.Sprintf("%+v", err)} {
				if strings.Contains(text, secret) {
					t.Fatalf("password shown: %s", text)
				}
			}
			if !strings.Contains(err.Error(), "rtsp://") {
				t.Fatalf("error %q does not say which camera", err)
			}
		})
	}
}

func TestInvalidConfigIsPermanent(t *testing.T) {
	for _, cfg := range []Config{
		{URL: "http://example.com/x"},
		{URL: "rtsp://"},
		{URL: "::::"},
		{URL: "rtsp://127.0.0.1:1/x", Transport: "sctp"},
	} {
		st := stream.New("x", stream.Options{})
		err := New(cfg, st, nil).Run(context.Background())
		if err == nil {
			t.Fatalf("%+v: Run succeeded", cfg)
		}
		// supervise stops on it
		ran := 0
		perr := supervise.Run(context.Background(), slog.New(slog.DiscardHandler), "x", supervise.Options{},
			func(ctx context.Context) error { ran++; return New(cfg, st, nil).Run(ctx) })
		if perr == nil || ran != 1 {
			t.Fatalf("%+v: supervise ran %d times, returned %v", cfg, ran, perr)
		}
	}
}

func TestServerGoesAway(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	simCtx, stopSim := context.WithCancel(ctx)
	s := startSim(t, simCtx, sim.Config{})
	st := stream.New("cam", stream.Options{})
	col := &collector{}
	st.AddReader(col)
	src := New(Config{URL: s.URL("cam1"), Transport: TransportTCP}, st, nil)
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	col.waitVideo(t, ctx, 3)
	stopSim()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Run returned nil when the server went away")
		}
		if src.Status().Playing || st.Stats().Publishing {
			t.Fatal("still playing/publishing")
		}
	case <-ctx.Done():
		t.Fatal("Run did not return")
	}
}

// checkAVCC fails when b is not a sequence of length-prefixed NAL units.
func checkAVCC(t *testing.T, b []byte) {
	t.Helper()
	for len(b) > 0 {
		if len(b) < 4 {
			t.Fatal("truncated avcc")
		}
		n := int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		if n == 0 || n > len(b)-4 {
			t.Fatalf("bad avcc length %d", n)
		}
		b = b[4+n:]
	}
}
