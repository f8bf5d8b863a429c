package push

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/sim"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/supervise"
	"github.com/vigil-video/vigil/internal/testutil"
)

// TestPushToIngest pushes the real clip (and an AAC track) to a real
// ingest server, over RTSP and over RTSPS with the hub's certificate
// pinned, and checks that the hub's stream receives every frame, byte for
// byte, on the camera's wall clock.
func TestPushToIngest(t *testing.T) {
	tests := []struct {
		name       string
		tls, audio bool
	}{
		{"rtsp", false, false},
		{"rtsps pinned", true, false},
		{"rtsps pinned with aac", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := loadFootage(t)
			h := startHub(t, tt.tls)
			cfg := Config{URL: h.url(), User: gwUser, Pass: gwPass}
			if tt.tls {
				cfg.TLS = pin(sha256.Sum256(h.cert.Certificate.Leaf.Raw))
			}
			tracks := []media.Track{f.track}
			if tt.audio {
				tracks = append(tracks, aacTrack)
			}
			st := stream.New("local", stream.Options{})
			pub := st.Publish(tracks)
			defer pub.Close()
			p := startPush(t, st, cfg)
			waitFor(t, 10*time.Second, "push live", p.stats.Live.Load)

			// 15 s of video written at once, its wall times from 7 s ago to
			// 8 s ahead: within the hub's 10 s tolerance of sender clocks
			n := 150
			base := time.Now().Add(-7 * time.Second).Truncate(time.Millisecond)
			var sent, sentAudio []*media.AccessUnit
			for i := range n {
				au := f.unit(i, base)
				sent = append(sent, au)
				if err := pub.Write(au); err != nil {
					t.Fatal(err)
				}
				for tt.audio && audioPTS(len(sentAudio))*sim.ClockRate/48000 < au.PTS+sim.ClockRate/10 {
					a := aacUnit(len(sentAudio), base)
					sentAudio = append(sentAudio, a)
					_ = pub.Write(a)
				}
				if i%10 == 9 {
					time.Sleep(5 * time.Millisecond) // 2000 fps: no overload
				}
			}
			waitFor(t, 20*time.Second, "frames at the hub", func() bool {
				return len(h.videoUnits()) >= n && len(h.units(1)) >= len(sentAudio)
			})
			got := h.videoUnits()
			t.Logf("sent %d frames, %d units (%d bytes); hub received %d frames, %d audio units; dropped %d",
				p.stats.Frames.Load(), p.stats.Units.Load(), p.stats.Bytes.Load(), len(got), len(h.units(1)), p.stats.Dropped.Load())
			if p.stats.Frames.Load() != int64(n) || p.stats.Units.Load() != int64(n+len(sentAudio)) ||
				p.stats.Dropped.Load() != 0 || p.stats.Sessions.Load() != 1 {
				t.Fatalf("stats: frames %d units %d dropped %d sessions %d", p.stats.Frames.Load(),
					p.stats.Units.Load(), p.stats.Dropped.Load(), p.stats.Sessions.Load())
			}
			// 10 frames at once: their packets share a few socket writes
			t.Logf("%d RTP packets in %d socket writes", p.stats.Packets.Load(), p.stats.Writes.Load())
			if w, pk := p.stats.Writes.Load(), p.stats.Packets.Load(); pk < int64(n) || w == 0 || w > pk/2 {
				t.Errorf("%d RTP packets in %d socket writes: not coalesced", pk, w)
			}
			checkReceived(t, sent, got)
			checkAudio(t, sentAudio, h.units(1))
			begins, _, _ := h.col.State()
			if len(begins) != 1 || len(begins[0]) != len(tracks) || begins[0][0].Width != f.clip.Width || begins[0][0].Codec != media.CodecH264 {
				t.Fatalf("hub sessions %+v", begins)
			}

			start := time.Now()
			p.cancel()
			if err := p.wait(t, 3*time.Second); err != nil {
				t.Fatalf("Run after cancel: %v", err)
			}
			t.Logf("Run returned %v after cancel", time.Since(start))
			if strings.Contains(p.logs.String(), gwPass) {
				t.Fatal("password in the logs")
			}
		})
	}
}

// aacTrack is AAC-LC, 48 kHz stereo.
var aacTrack = media.Track{ID: 1, Codec: media.CodecAAC, ClockRate: 48000,
	AACConfig: []byte{0x11, 0x90}, SampleRate: 48000, ChannelCount: 2}

func audioPTS(j int) int64 { return int64(j) * 1024 }

// aacUnit is the j-th AAC frame (1024 samples); its bytes are a pattern,
// which nothing on the way decodes.
func aacUnit(j int, base time.Time) *media.AccessUnit {
	payload := bytes.Repeat([]byte{byte(j), 0x5a}, 100+j%50)
	pts := audioPTS(j)
	return &media.AccessUnit{Track: 1, PTS: pts, DTS: pts, Key: true, Payload: payload,
		Wall: base.Add(time.Duration(pts) * time.Second / 48000)}
}

func checkAudio(t *testing.T, sent, got []*media.AccessUnit) {
	t.Helper()
	if len(got) != len(sent) {
		t.Fatalf("hub got %d audio units, sent %d", len(got), len(sent))
	}
	for i := range got {
		if !bytes.Equal(got[i].Payload, sent[i].Payload) || got[i].PTS-got[0].PTS != sent[i].PTS-sent[0].PTS {
			t.Fatalf("audio unit %d differs", i)
		}
		// the first audio unit precedes its media's first sender report
		// (the server learns the SSRC from that first packet)
		if d := got[i].Wall.Sub(sent[i].Wall); i > 0 && (d <= -time.Millisecond || d >= time.Millisecond) {
			t.Fatalf("audio unit %d: wall time %v off the camera's", i, d)
		}
	}
}

// checkReceived compares the hub's frames with the pushed ones: same NAL
// units, keyframes, PTS steps and wall times.
func checkReceived(t *testing.T, sent, got []*media.AccessUnit) {
	t.Helper()
	if len(got) != len(sent) {
		t.Fatalf("hub got %d frames, sent %d", len(got), len(sent))
	}
	for i, g := range got {
		s := sent[i]
		if g.Key != s.Key || !sameNALUs(g.NALUs, s.NALUs) {
			t.Fatalf("frame %d differs (key %v/%v): nal units %s, sent %s", i, g.Key, s.Key, nalTypes(g.NALUs), nalTypes(s.NALUs))
		}
		if i > 0 && g.PTS-got[0].PTS != s.PTS-sent[0].PTS {
			t.Fatalf("frame %d: pts step %d, sent %d", i, g.PTS-got[0].PTS, s.PTS-sent[0].PTS)
		}
		// the push's first sender report follows the first packet, so
		// even the first frame has the camera's wall time
		if d := g.Wall.Sub(s.Wall); d <= -time.Millisecond || d >= time.Millisecond {
			t.Fatalf("frame %d: wall time %v off the camera's", i, d)
		}
	}
}

// sameNALUs compares the picture data (slice NAL units): the hub's
// depacketiser puts the parameter sets in front of keyframes and leaves
// out SEI.
func sameNALUs(got, want [][]byte) bool {
	got, want = slices(got), slices(want)
	if len(got) != len(want) || len(want) == 0 {
		return false
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			return false
		}
	}
	return true
}

// slices returns the H.264 slice NAL units (types 1 to 5).
func slices(nalus [][]byte) [][]byte {
	var out [][]byte
	for _, n := range nalus {
		if t := n[0] & 0x1f; t >= 1 && t <= 5 {
			out = append(out, n)
		}
	}
	return out
}

// TestPushRefused: a wrong pin, a wrong password and an unknown camera
// fail with a clear error, and the hub's stream never starts.
func TestPushRefused(t *testing.T) {
	tests := []struct {
		name    string
		tls     bool
		badPin  bool
		user    string
		pass    string
		path    string
		wantIs  error
		wantMsg string
	}{
		{"wrong pin", true, true, gwUser, gwPass, camID, errPin, "does not match the pinned hash"},
		{"wrong password rtsp", false, false, gwUser, "wrong-password", camID, ErrUnauthorized, "401"},
		{"wrong password rtsps", true, false, gwUser, "wrong-password", camID, ErrUnauthorized, "401"},
		{"unknown camera", false, false, gwUser, gwPass, "nope", ErrRefused, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := loadFootage(t)
			h := startHub(t, tt.tls)
			cfg := Config{URL: h.scheme + "://" + h.addr + "/" + tt.path, User: tt.user, Pass: tt.pass}
			if tt.tls {
				sum := sha256.Sum256(h.cert.Certificate.Leaf.Raw)
				if tt.badPin {
					sum[0] ^= 1
				}
				cfg.TLS = pin(sum)
			}
			st := stream.New("local", stream.Options{})
			pub := st.Publish([]media.Track{f.track})
			defer pub.Close()
			_ = pub.Write(f.unit(0, time.Now()))
			p := startPush(t, st, cfg)
			err := p.wait(t, 10*time.Second)
			if err == nil || !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err = %v, want %v containing %q", err, tt.wantIs, tt.wantMsg)
			}
			t.Logf("error: %v", err)
			for _, secret := range []string{tt.pass, gwPass} {
				if strings.Contains(err.Error(), secret) || strings.Contains(p.logs.String(), secret) {
					t.Fatal("password in the error or the logs")
				}
			}
			if begins, units, _ := h.col.State(); len(begins) != 0 || len(units) != 0 || p.stats.Sessions.Load() != 0 {
				t.Fatalf("hub received %d sessions, %d units", len(begins), len(units))
			}
		})
	}
}

// TestInvalidURL: a URL that can never work stops the supervisor at once.
func TestInvalidURL(t *testing.T) {
	for _, u := range []string{"", "http://hub/cam", "rtsp://", "rtsp://[::1/cam"} {
		calls := 0
		err := supervise.Run(t.Context(), slog.New(slog.DiscardHandler), "push", supervise.Options{},
			func(ctx context.Context) error {
				calls++
				return Run(ctx, stream.New("x", stream.Options{}), Config{URL: u, Pass: "secret-pass"}, nil, nil)
			})
		if !errors.Is(err, ErrInvalidURL) || calls != 1 {
			t.Fatalf("%q: err = %v after %d calls, want ErrInvalidURL after 1", u, err, calls)
		}
	}
}

// TestServerGoesAway: the hub stops mid-push; Run returns an error at once.
func TestServerGoesAway(t *testing.T) {
	f := loadFootage(t)
	h := startHub(t, false)
	st := stream.New("local", stream.Options{})
	pub := st.Publish([]media.Track{f.track})
	defer pub.Close()
	p := startPush(t, st, Config{URL: h.url(), User: gwUser, Pass: gwPass})
	waitFor(t, 10*time.Second, "push live", p.stats.Live.Load)
	for i := range 30 {
		_ = pub.Write(f.unit(i, time.Now()))
	}
	waitFor(t, 10*time.Second, "frames at the hub", func() bool { return len(h.videoUnits()) >= 29 })
	start := time.Now()
	h.close()
	err := p.wait(t, 3*time.Second)
	if err == nil || !strings.Contains(err.Error(), "connection") {
		t.Fatalf("err = %v, want a connection error", err)
	}
	t.Logf("Run returned after %v: %v", time.Since(start), err)
	if p.stats.Live.Load() {
		t.Fatal("still live")
	}
}

// TestCancelWhileWaiting: without a publisher Run waits for tracks, and
// returns nil at once when cancelled.
func TestCancelWhileWaiting(t *testing.T) {
	h := startHub(t, false)
	st := stream.New("local", stream.Options{})
	p := startPush(t, st, Config{URL: h.url(), User: gwUser, Pass: gwPass})
	select {
	case err := <-p.done:
		t.Fatalf("Run returned without a publisher: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	start := time.Now()
	p.cancel()
	if err := p.wait(t, time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("returned %v after cancel", time.Since(start))
}

// TestStalledServer: the uplink stops taking bytes. The camera's
// publisher never waits (each Write stays tiny), the push drops and counts
// frames, and Run fails once the write timeout passes; cancelling a
// stalled push returns at once.
func TestStalledServer(t *testing.T) {
	for _, cancel := range []bool{false, true} {
		name := map[bool]string{false: "write timeout", true: "cancel"}[cancel]
		t.Run(name, func(t *testing.T) {
			f := loadFootage(t)
			h := startHub(t, false)
			px := startProxy(t, h.addr)
			st := stream.New("local", stream.Options{})
			pub := st.Publish([]media.Track{f.track})
			defer pub.Close()
			cfg := Config{URL: "rtsp://" + px.addr() + "/" + camID, User: gwUser, Pass: gwPass,
				QueueUnits: 64, WriteQueue: 256, WriteTimeout: 2 * time.Second}
			p := startPush(t, st, cfg)
			waitFor(t, 10*time.Second, "push live", p.stats.Live.Load)
			cam := &camera{t: t, f: f, pub: pub, base: time.Now()}
			cam.write(50, 2*time.Millisecond, nil)
			waitFor(t, 10*time.Second, "frames through the proxy", func() bool { return len(h.videoUnits()) >= 50 })
			if d := p.stats.Dropped.Load(); d != 0 {
				t.Fatalf("%d drops before the stall", d)
			}

			px.pause()
			stalled := time.Now()
			// the camera goes on at 1000 fps (~4 MB/s) until the push has
			// given up, or, to test cancel, has dropped plenty
			stop := func() bool {
				if cancel {
					return p.stats.Dropped.Load() >= 500
				}
				select {
				case err := <-p.done:
					p.done <- err
					return true
				default:
					return false
				}
			}
			cam.write(30_000, time.Millisecond, stop)
			t.Logf("stalled for %v: wrote %d frames, worst Write %v; push sent %d, dropped %d",
				time.Since(stalled), cam.n, cam.worst, p.stats.Frames.Load(), p.stats.Dropped.Load())
			if p.stats.Dropped.Load() < 100 {
				t.Fatal("no drops counted")
			}
			if cam.worst > 100*time.Millisecond { // blocking would take the 2 s write timeout
				t.Fatalf("a publisher Write took %v", cam.worst)
			}
			if sd := st.Stats().ReaderDrops; sd != uint64(p.stats.Dropped.Load()) {
				t.Fatalf("stream counts %d reader drops, push %d", sd, p.stats.Dropped.Load())
			}
			start := time.Now()
			if cancel {
				p.cancel()
				if err := p.wait(t, time.Second); err != nil {
					t.Fatal(err)
				}
				t.Logf("Run returned %v after cancel", time.Since(start))
				return
			}
			err := p.wait(t, time.Second)
			if err == nil || !strings.Contains(err.Error(), "timeout") {
				t.Fatalf("err = %v, want a write timeout", err)
			}
			t.Logf("error: %v", err)
		})
	}
}

// camera writes the looped clip into a stream at a given pace.
type camera struct {
	t     *testing.T
	f     footage
	pub   *stream.Publisher
	base  time.Time
	n     int
	worst time.Duration
}

// write writes up to count frames, one per every (paced by the clock, the
// way a camera delivers), until stop returns true.
func (c *camera) write(count int, every time.Duration, stop func() bool) {
	c.t.Helper()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for range count {
		if stop != nil && stop() {
			return
		}
		start := time.Now()
		if err := c.pub.Write(c.f.unit(c.n, c.base)); err != nil {
			c.t.Fatal(err)
		}
		c.worst = max(c.worst, time.Since(start))
		c.n++
		<-tick.C
	}
}

// TestNewPublisherSession: the camera reconnects with the same tracks and
// the push starts a new hub session from the next keyframe; a publisher
// with other tracks ends Run with ErrTracksChanged.
func TestNewPublisherSession(t *testing.T) {
	f := loadFootage(t)
	h := startHub(t, false)
	st := stream.New("local", stream.Options{})
	pub := st.Publish([]media.Track{f.track})
	p := startPush(t, st, Config{URL: h.url(), User: gwUser, Pass: gwPass})
	waitFor(t, 10*time.Second, "push live", p.stats.Live.Load)
	base := time.Now()
	for i := range 25 {
		_ = pub.Write(f.unit(i, base))
	}
	waitFor(t, 10*time.Second, "first session's frames", func() bool { return len(h.videoUnits()) >= 24 })

	pub = st.Publish([]media.Track{f.track}) // camera reconnected
	waitFor(t, 10*time.Second, "second session", func() bool { return p.stats.Sessions.Load() == 2 && p.stats.Live.Load() })
	for i := range 25 {
		_ = pub.Write(f.unit(i, base.Add(time.Minute)))
	}
	waitFor(t, 10*time.Second, "second session's frames", func() bool { return len(h.videoUnits()) >= 24+24 })
	if begins, _, _ := h.col.State(); len(begins) != 2 {
		t.Fatalf("hub saw %d sessions, want 2", len(begins))
	}

	other := f.track
	other.Codec, other.VPS = media.CodecH265, []byte{0x40, 0x01}
	pub = st.Publish([]media.Track{other})
	defer pub.Close()
	if err := p.wait(t, 5*time.Second); !errors.Is(err, ErrTracksChanged) {
		t.Fatalf("err = %v, want ErrTracksChanged", err)
	}
}

// TestHubRestreamsPushedCamera: ffprobe reads the hub's re-stream of the
// pushed camera and sees the pushed H.264 video.
func TestHubRestreamsPushedCamera(t *testing.T) {
	testutil.RequireTool(t, "ffprobe")
	f := loadFootage(t)
	h := startHub(t, false)
	st := stream.New("local", stream.Options{})
	pub := st.Publish([]media.Track{f.track})
	defer pub.Close()
	p := startPush(t, st, Config{URL: h.url(), User: gwUser, Pass: gwPass})
	waitFor(t, 10*time.Second, "push live", p.stats.Live.Load)
	stop := make(chan struct{})
	fed := make(chan struct{})
	go func() { // the camera, in real time
		defer close(fed)
		base := time.Now()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			_ = pub.Write(f.unit(i, base))
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	defer func() { close(stop); <-fed }()
	waitFor(t, 10*time.Second, "frames at the hub", func() bool { return len(h.videoUnits()) >= 2 })
	u := "rtsp://" + gwUser + ":" + gwPass + "@" + h.addr + "/" + camID
	r, err := testutil.ProbeRTSP(t, u, "tcp")
	if err != nil {
		t.Fatal(err)
	}
	v := r.Video()
	if v.CodecName != "h264" || v.Width != f.clip.Width || v.Height != f.clip.Height {
		t.Fatalf("ffprobe saw %+v", r.Streams)
	}
}

func nalTypes(nalus [][]byte) string {
	var b strings.Builder
	for _, n := range nalus {
		fmt.Fprintf(&b, "%d:%d ", n[0]&0x1f, len(n))
	}
	return b.String()
}

// TestStartsOnKeyframe: a push that joins a running stream starts with
// the stream's kept GOP, or, without one, at the next keyframe.
func TestStartsOnKeyframe(t *testing.T) {
	tests := []struct {
		name      string
		before    [2]int // frames [from, to) written before the push starts
		wantFirst int    // first frame the hub gets
	}{
		{"kept gop", [2]int{0, 15}, 0},
		{"mid gop without a kept one", [2]int{5, 15}, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := loadFootage(t)
			if !f.clip.Frames[0].Key || !f.clip.Frames[20].Key || f.clip.Frames[5].Key {
				t.Fatal("clip keyframes moved")
			}
			h := startHub(t, false)
			st := stream.New("local", stream.Options{})
			pub := st.Publish([]media.Track{f.track})
			defer pub.Close()
			base := time.Now().Add(-3 * time.Second)
			for i := tt.before[0]; i < tt.before[1]; i++ {
				_ = pub.Write(f.unit(i, base))
			}
			p := startPush(t, st, Config{URL: h.url(), User: gwUser, Pass: gwPass})
			waitFor(t, 10*time.Second, "push live", p.stats.Live.Load)
			const last = 50
			for i := tt.before[1]; i < last; i++ {
				_ = pub.Write(f.unit(i, base))
			}
			want := last - tt.wantFirst
			waitFor(t, 10*time.Second, "frames at the hub", func() bool { return len(h.videoUnits()) >= want })
			got := h.videoUnits()
			var sent []*media.AccessUnit
			for i := tt.wantFirst; i < last; i++ {
				sent = append(sent, f.unit(i, base))
			}
			checkReceived(t, sent, got)
			if p.stats.Dropped.Load() != 0 {
				t.Fatalf("%d dropped", p.stats.Dropped.Load())
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	tests := []struct{ in, want int }{{0, 1024}, {1, 1}, {3, 4}, {64, 64}, {100, 128}, {1025, 2048}}
	for _, tt := range tests {
		if got := (Config{WriteQueue: tt.in}).withDefaults().WriteQueue; got != tt.want {
			t.Errorf("WriteQueue %d -> %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestSlowUplink: over a link slower than the camera, every frame is
// either sent, and received by the hub, or counted as dropped, and the
// hub's frames resume at a keyframe after each loss.
func TestSlowUplink(t *testing.T) {
	f := loadFootage(t)
	h := startHub(t, false)
	px := startProxy(t, h.addr)
	px.rate.Store(1 << 20) // 1 MiB/s for a ~4 MB/s camera
	st := stream.New("local", stream.Options{})
	pub := st.Publish([]media.Track{f.track})
	defer pub.Close()
	cfg := Config{URL: "rtsp://" + px.addr() + "/" + camID, User: gwUser, Pass: gwPass, QueueUnits: 64, WriteQueue: 256}
	p := startPush(t, st, cfg)
	waitFor(t, 10*time.Second, "push live", p.stats.Live.Load)
	cam := &camera{t: t, f: f, pub: pub, base: time.Now()}
	cam.write(20_000, time.Millisecond, func() bool { return p.stats.Dropped.Load() >= 300 })
	px.rate.Store(0) // the link recovers while the camera goes on
	cam.write(200, 2*time.Millisecond, nil)
	waitFor(t, 30*time.Second, "the backlog at the hub", func() bool {
		return int64(len(h.videoUnits())) == p.stats.Frames.Load() && p.stats.Frames.Load()+p.stats.Dropped.Load() == int64(cam.n)
	})
	frames, dropped := p.stats.Frames.Load(), p.stats.Dropped.Load()
	got := h.videoUnits()
	t.Logf("camera wrote %d frames; push sent %d, dropped %d; hub received %d (%.1f%% of those written)",
		cam.n, frames, dropped, len(got), 100*float64(len(got))/float64(cam.n))
	if frames+dropped != int64(cam.n) {
		t.Fatalf("sent %d + dropped %d != written %d", frames, dropped, cam.n)
	}
	if dropped == 0 {
		t.Fatal("nothing dropped")
	}
	// the hub's frames are the camera's in order, with losses that end at
	// a keyframe
	k, prev, losses := 0, -1, 0
	for i, g := range got {
		for k < cam.n && !sameNALUs(g.NALUs, f.unit(k, cam.base).NALUs) {
			k++
		}
		if k == cam.n {
			t.Fatalf("hub frame %d is none of the camera's (in order)", i)
		}
		if k != prev+1 {
			losses++
			if !g.Key {
				t.Fatalf("hub frame %d (camera frame %d) follows a loss but is no keyframe", i, k)
			}
		}
		prev = k
		k++
	}
	if losses == 0 {
		t.Fatal("the hub's frames show no loss")
	}
	t.Logf("%d losses, each resumed at a keyframe", losses)
}
