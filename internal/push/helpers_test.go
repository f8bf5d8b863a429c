package push

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-video/vigil/internal/ingest"
	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/sim"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/testutil"
	"github.com/vigil-video/vigil/internal/tlsconf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	gwUser = "gate-1"
	gwPass = "gw-credential-s3cret"
	camID  = "cam1"
)

// hubAuth accepts the gateway's credential for publishing and reading.
type hubAuth struct{}

func (hubAuth) AuthenticateRTSP(user, pass, _ string, _ ingest.Action) bool {
	return user == gwUser && pass == gwPass
}

// hubStreams has one pushable camera.
type hubStreams struct{ st *stream.Stream }

func (h hubStreams) PushStream(id string) (*stream.Stream, error) { return h.LiveStream(id) }

func (h hubStreams) LiveStream(id string) (*stream.Stream, error) {
	if id != camID {
		return nil, fmt.Errorf("camera %s: %w", id, ingest.ErrUnknownCamera)
	}
	return h.st, nil
}

// hub is a real ingest server on 127.0.0.1 with a collector on cam1.
type hub struct {
	addr   string
	st     *stream.Stream
	col    *testutil.Collector
	stop   context.CancelFunc
	done   chan error
	cert   *tlsconf.Cert // rtsps only
	scheme string
}

func startHub(t *testing.T, withTLS bool) *hub {
	t.Helper()
	h := &hub{st: stream.New(camID, stream.Options{}), col: &testutil.Collector{}, done: make(chan error, 1), scheme: "rtsp"}
	h.st.AddReader(h.col)
	cfg := ingest.Config{Addr: "127.0.0.1:0"}
	if withTLS {
		cert, err := tlsconf.Load(tlsconf.Options{Dir: filepath.Join(t.TempDir(), "tls")})
		if err != nil {
			t.Fatal(err)
		}
		h.cert, h.scheme, cfg.TLSConfig = cert, "rtsps", cert.Config()
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	srv, err := ingest.New(cfg, ingest.Deps{Auth: hubAuth{}, Streams: hubStreams{h.st}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	go func() { h.done <- srv.Run(ctx) }()
	t.Cleanup(h.close)
	<-srv.Ready()
	if h.addr = srv.Addr(); h.addr == "" {
		t.Fatal("hub did not start")
	}
	return h
}

// close stops the hub and waits for it.
func (h *hub) close() {
	if h.stop != nil {
		h.stop()
		<-h.done
		h.stop = nil
	}
}

func (h *hub) url() string { return h.scheme + "://" + h.addr + "/" + camID }

// videoUnits returns the hub's received video units.
func (h *hub) videoUnits() []*media.AccessUnit { return h.units(0) }

// units returns the hub's received units of one track.
func (h *hub) units(track int) []*media.AccessUnit {
	_, units, _ := h.col.State()
	var out []*media.AccessUnit
	for _, u := range units {
		if u.Track == track {
			out = append(out, u)
		}
	}
	return out
}

// pin returns a client TLS config that accepts only the certificate
// whose DER SHA-256 is sum (what the gateway does).
func pin(sum [32]byte) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, //nolint:gosec // replaced by the pin check
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || sha256.Sum256(raw[0]) != sum {
				return errPin
			}
			return nil
		},
	}
}

var errPin = errors.New("hub certificate does not match the pinned hash")

// footage is the embedded clip as a stream's track and units.
type footage struct {
	clip  *sim.Clip
	track media.Track
}

func loadFootage(t testing.TB) footage {
	t.Helper()
	c, err := sim.DefaultClip()
	if err != nil {
		t.Fatal(err)
	}
	return footage{clip: c, track: media.Track{
		ID: 0, Codec: media.CodecH264, ClockRate: sim.ClockRate,
		SPS: c.SPS, PPS: c.PPS, Width: c.Width, Height: c.Height,
	}}
}

// unit returns the i-th frame of the looped clip, its wall time anchored
// at base.
func (f footage) unit(i int, base time.Time) *media.AccessUnit {
	n := len(f.clip.Frames)
	fr := f.clip.Frames[i%n]
	off := int64(i/n) * f.clip.Duration
	pts := fr.PTS + off
	return &media.AccessUnit{
		Track: 0, PTS: pts, DTS: fr.DTS + off, Key: fr.Key, NALUs: fr.NALUs,
		Wall: base.Add(time.Duration(pts) * time.Second / sim.ClockRate),
	}
}

// runPush starts Run on a goroutine; the returned func cancels it and
// returns Run's error (also reported by the channel).
type pushRun struct {
	stats  *Stats
	cancel context.CancelFunc
	done   chan error
	logs   *testutil.LogBuffer
}

func startPush(t *testing.T, st *stream.Stream, cfg Config) *pushRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &pushRun{stats: &Stats{}, cancel: cancel, done: make(chan error, 1), logs: &testutil.LogBuffer{}}
	log := slog.New(slog.NewTextHandler(p.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { p.done <- Run(ctx, st, cfg, log, p.stats) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return p
}

// wait returns Run's error, failing the test if it takes longer than d.
func (p *pushRun) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		return err
	case <-time.After(d):
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
		t.Fatalf("Run did not return within %v", d)
		return nil
	}
}

// waitFor polls cond (state owned by other goroutines, no signal to wait
// on) until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// proxy forwards TCP connections to target until paused: then it stops
// reading from the client (a stalled uplink).
type proxy struct {
	ln     net.Listener
	target string
	// rate, when set, limits forwarding to client bytes per second
	rate   atomic.Int64
	mu     sync.Mutex
	paused chan struct{} // closed to pause
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	lc := net.ListenConfig{}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, paused: make(chan struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) pause() { close(p.paused) }

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Go(func() { _, _ = io.Copy(c, up) })
		p.wg.Go(func() { p.forward(up, c) })
	}
}

// forward copies client bytes upstream until paused or closed.
func (p *proxy) forward(dst, src net.Conn) {
	buf := make([]byte, 4096)
	for {
		select {
		case <-p.paused:
			return
		default:
		}
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			if r := p.rate.Load(); r > 0 {
				time.Sleep(time.Duration(n) * time.Second / time.Duration(r)) // the link's pace
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
