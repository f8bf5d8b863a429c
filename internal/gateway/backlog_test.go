package gateway

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/spool"
	"github.com/vigil-video/vigil/internal/testutil"
	"github.com/vigil-video/vigil/internal/uplink"
)

// deadCamera is a camera whose source never answers: its pipeline runs
// (and uploads its spooled backlog) while the pull keeps failing.
func deadCamera(id string) uplink.Camera {
	return uplink.Camera{ID: id, Source: "rtsp://127.0.0.1:1/" + id, Transport: "tcp", Record: true}
}

// fillSpool appends n synthetic fragments of size bytes per camera to the
// spool in dir (as a gateway that recorded them and stopped) and returns
// the spool's origin. Starts continue from after.
func fillSpool(t *testing.T, dir string, n, size int, after time.Time, cameras ...string) string {
	t.Helper()
	sp, err := spool.Open(filepath.Join(dir, "spool"), spool.Options{Quota: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	for _, cam := range cameras {
		for i := range n {
			data := bytes.Repeat([]byte{byte(i)}, size)
			start := after.Add(time.Duration(i) * time.Second)
			if _, err := sp.Append(cam, spool.Fragment{Start: start, Duration: time.Second, Key: true,
				Init: []byte("init-" + cam), Data: data}); err != nil {
				t.Fatal(err)
			}
		}
	}
	origin := sp.Origin()
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	return origin
}

func seqs(frags []uplink.Fragment) []uint64 {
	out := make([]uint64, len(frags))
	for i, f := range frags {
		out[i] = f.Seq
	}
	return out
}

func wantSeqs(t *testing.T, frags []uplink.Fragment, from, to uint64) {
	t.Helper()
	got := seqs(frags)
	if len(got) != int(to-from+1) {
		t.Fatalf("hub holds seqs %v, want %d..%d", got, from, to)
	}
	for i, s := range got {
		if s != from+uint64(i) {
			t.Fatalf("hub holds seqs %v, want %d..%d", got, from, to)
		}
	}
}

// TestRateCap drains a backlog of two cameras under one shared cap and
// measures the rate at the hub.
func TestRateCap(t *testing.T) {
	const capBits = 3_200_000 // 400 kB/s
	dir := t.TempDir()
	fillSpool(t, dir, 48, 25_000, time.Now().Add(-time.Hour), "a", "b") // 2.4 MB: 6 s
	h := newFakeHub(t, deadCamera("a"), deadCamera("b"))
	g, stop := runGateway(t, Config{Hub: h.srv.URL, Token: h.pinnedToken(), DataDir: dir, BackfillRate: capBits}, nil, nil)
	waitFor(t, 20*time.Second, "the backlog to drain", func() bool {
		return len(h.fragments("a")) == 48 && len(h.fragments("b")) == 48
	})
	h.mu.Lock()
	bytesIn, took := h.bytesIn-h.markBytes, h.lastIn.Sub(h.markIn)
	burst := h.markIn.Sub(h.firstIn)
	apart := h.doneAt["a"].Sub(h.doneAt["b"]).Abs()
	h.mu.Unlock()
	// The cameras share the cap: they finish together, not one after the other.
	if apart > took/5 {
		t.Errorf("camera a finished %v apart from b in a drain of %v: the cap is not shared fairly", apart, took)
	}
	waitFor(t, 5*time.Second, "the spool to be freed", func() bool { return spoolPending(g) == 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	measured := float64(bytesIn) / took.Seconds()
	ratio := measured / (capBits / 8)
	t.Logf("drained %d bytes in %v after the first %d in %v: %.0f B/s, %.3f of the cap", bytesIn, took, h.markBytes, burst, measured, ratio)
	if ratio < 0.85 || ratio > 1.05 {
		t.Fatalf("measured %.0f B/s, %.3f of the cap %d B/s", measured, ratio, capBits/8)
	}
	wantSeqs(t, h.fragments("a"), 1, 48)
	wantSeqs(t, h.fragments("b"), 1, 48)
	if h.duplicates() != 0 || h.http1 != 0 {
		t.Fatalf("%d duplicates, %d uploads not over HTTP/2", h.duplicates(), h.http1)
	}
}

// TestRestartResumesFromProgress stops a gateway after it uploaded its
// backlog, spools more, pretends the hub stored some of it without the
// gateway hearing (a crash between the hub's commit and the ack), and
// restarts: the identity is reused and only what the hub lacks is sent.
func TestRestartResumesFromProgress(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Now().Add(-time.Hour)
	origin := fillSpool(t, dir, 10, 1000, t0, "a")
	h := newFakeHub(t, deadCamera("a"))
	cfg := Config{Hub: h.srv.URL, Token: h.pinnedToken(), DataDir: dir}
	g, stop := runGateway(t, cfg, nil, nil)
	waitFor(t, 10*time.Second, "10 fragments", func() bool { return len(h.fragments("a")) == 10 })
	waitFor(t, 5*time.Second, "the spool to be freed", func() bool { return spoolPending(g) == 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	fillSpool(t, dir, 10, 1000, t0.Add(10*time.Second), "a") // seqs 11..20
	h.mu.Lock()
	h.lastSeq["a/"+origin] = 15 // the hub holds up to 15, the gateway never heard
	h.mu.Unlock()

	g, stop = runGateway(t, cfg, nil, nil)
	waitFor(t, 10*time.Second, "seq 20", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.lastSeq["a/"+origin] == 20 })
	waitFor(t, 5*time.Second, "the spool to be freed", func() bool { return spoolPending(g) == 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := seqs(h.fragments("a"))
	if want := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 17, 18, 19, 20}; !equalSeqs(got, want) {
		t.Fatalf("hub received %v, want %v", got, want)
	}
	if h.duplicates() != 0 || h.enrolls.Load() != 1 {
		t.Fatalf("duplicates %d, enrolments %d", h.duplicates(), h.enrolls.Load())
	}
}

func equalSeqs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCredentialRefused: a revoked credential stops uploads with a clear
// log line and a slow retry; the spool keeps everything; once the hub
// accepts the credential again the backlog drains.
func TestCredentialRefused(t *testing.T) {
	dir := t.TempDir()
	fillSpool(t, dir, 5, 1000, time.Now().Add(-time.Hour), "a")
	h := newFakeHub(t, deadCamera("a"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := EnsureIdentity(ctx, h.srv.URL, h.pinnedToken(), dir, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	h.revoked.Store(true)
	var logs testutil.LogBuffer
	g, stop := runGateway(t, Config{DataDir: dir, RevokedRetry: time.Second},
		slog.New(slog.NewTextHandler(&logs, nil)), nil)
	waitFor(t, 10*time.Second, "the refusal in the log", func() bool {
		return strings.Contains(logs.String(), ErrCredentialRefused.Error()) || strings.Contains(logs.String(), "refused the gateway's credential")
	})
	// Refused, the gateway holds off: config, status and upload loops each
	// ask about once per RevokedRetry (status alone would post 10 times in
	// these 2 s).
	r0 := h.requests.Load()
	time.Sleep(2 * time.Second) // a measuring window, not a synchronisation
	if n := h.requests.Load() - r0; n > 8 {
		t.Fatalf("%d requests in 2 s while the credential is refused", n)
	}
	if n := len(h.fragments("a")); n != 0 || spoolPending(g) != 5 {
		t.Fatalf("while revoked: hub holds %d, spool %d", n, spoolPending(g))
	}
	h.revoked.Store(false)
	waitFor(t, 10*time.Second, "the backlog to drain", func() bool { return len(h.fragments("a")) == 5 && spoolPending(g) == 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), h.cred) {
		t.Fatal("the credential is in the log")
	}
}

// TestHubErrorAnswers: the hub's error answers carry its progress, which
// the gateway acknowledges; a 413 goes on with the rest at once; a
// fragment refused twice is skipped, the rest is delivered and freed.
func TestHubErrorAnswers(t *testing.T) {
	cases := []struct {
		name       string
		badSeq     uint64
		maxPerPost int
		want       []uint64
	}{
		{name: "too large", maxPerPost: 4, want: []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{name: "refused fragment", badSeq: 4, want: []uint64{1, 2, 3, 5, 6, 7, 8, 9, 10}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fillSpool(t, dir, 10, 1000, time.Now().Add(-time.Hour), "a")
			h := newFakeHub(t, deadCamera("a"))
			h.badSeq, h.maxPerPost = tc.badSeq, tc.maxPerPost
			g, stop := runGateway(t, Config{Hub: h.srv.URL, Token: h.pinnedToken(), DataDir: dir}, nil, nil)
			waitFor(t, 10*time.Second, "seq 10 at the hub", func() bool {
				fs := h.fragments("a")
				return len(fs) > 0 && fs[len(fs)-1].Seq == 10
			})
			waitFor(t, 5*time.Second, "the spool to be freed", func() bool { return spoolPending(g) == 0 })
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if got := seqs(h.fragments("a")); !equalSeqs(got, tc.want) {
				t.Fatalf("hub holds %v, want %v", got, tc.want)
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.dupes != 0 || h.refusals == 0 {
				t.Fatalf("duplicates %d, refusals %d", h.dupes, h.refusals)
			}
			if tc.badSeq != 0 && h.refusals != 2 {
				t.Fatalf("the bad fragment was refused %d times, want 2 (retried once, then skipped)", h.refusals)
			}
		})
	}
}

// TestDrainsUnconfiguredCamera: a camera the hub no longer lists still
// gets its spooled backlog uploaded; its pipeline goes once drained.
func TestDrainsUnconfiguredCamera(t *testing.T) {
	dir := t.TempDir()
	fillSpool(t, dir, 5, 1000, time.Now().Add(-time.Hour), "gone")
	h := newFakeHub(t, deadCamera("a"))
	g, stop := runGateway(t, Config{Hub: h.srv.URL, Token: h.pinnedToken(), DataDir: dir, ConfigRefresh: 200 * time.Millisecond}, nil, nil)
	waitFor(t, 10*time.Second, "the backlog of the unconfigured camera", func() bool { return len(h.fragments("gone")) == 5 })
	waitFor(t, 10*time.Second, "its pipeline to stop", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		_, ok := g.pipes["gone"]
		return !ok && g.pipes["a"] != nil
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	wantSeqs(t, h.fragments("gone"), 1, 5)
}

// TestStopsWithBacklog: a gateway stopped in the middle of a slow upload
// with fragments waiting stops at once (its uploader used to spin on the
// cancelled context, a request per turn, and never returned).
func TestStopsWithBacklog(t *testing.T) {
	dir := t.TempDir()
	fillSpool(t, dir, 5, 200_000, time.Now().Add(-time.Hour), "a")
	h := newFakeHub(t, deadCamera("a"))
	// 1.6 Mbit/s: a fragment takes about a second to send
	g, stop := runGateway(t, Config{Hub: h.srv.URL, Token: h.pinnedToken(), DataDir: dir, BackfillRate: 1_600_000}, nil, nil)
	<-g.Ready()
	waitFor(t, 10*time.Second, "an upload under way", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.bytesIn > 0
	})
	if n := spoolPending(g); n < 3 {
		t.Fatalf("spool holds %d at the stop, want most of the 5: the test would test nothing", n)
	}
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("stopping during an upload with a backlog took %v", d)
	}
}
