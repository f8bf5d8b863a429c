package hls

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/index/sqlite"
	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/sim"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/testutil"
)

// liveAPI is a real API serving a Server's routes on 127.0.0.1, with a
// viewer "ann" scoped to site north, which has cameras cam1 and cam2, and
// site south with camera far.
type liveAPI struct {
	url  string
	srv  *Server
	ts   *testStreams
	auth string // Authorization header value of ann
}

func newLiveAPI(t testing.TB, cfg Config) *liveAPI {
	t.Helper()
	ctx := context.Background()
	idx, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idx.Close() })
	store, err := auth.NewSQLStore(idx.DB())
	if err != nil {
		t.Fatal(err)
	}
	as, err := auth.New(auth.Config{Hash: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}}, auth.Deps{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	for site, cams := range map[string][]string{"north": {"cam1", "cam2"}, "south": {"far"}} {
		if _, err := idx.CreateSite(ctx, index.Site{ID: site, Name: site}); err != nil {
			t.Fatal(err)
		}
		for _, c := range cams {
			if _, err := idx.CreateCamera(ctx, index.Camera{ID: c, Name: c, Site: site, Analytics: "{}"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	const pw = "ann-password-1"
	if _, err := as.CreateUser(ctx, auth.NewUser{Username: "ann", Password: pw, Role: auth.RoleViewer,
		Sites: []string{"north"}}); err != nil {
		t.Fatal(err)
	}
	l := &liveAPI{ts: newTestStreams(), auth: "Basic " + base64.StdEncoding.EncodeToString([]byte("ann:"+pw))}
	l.srv = New(cfg, Deps{Streams: l.ts})
	a, err := api.New(api.Config{}, api.Deps{Index: idx, Auth: as, Runtime: api.NopRuntime{}, Routes: l.srv.Routes()})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.srv.Run(runCtx) }()
	hs := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		hs.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	l.url = hs.URL
	return l
}

// get fetches an API path as ann (or with no credentials when anon).
func (l *liveAPI) get(t testing.TB, path string, anon bool) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, l.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !anon {
		req.Header.Set("Authorization", l.auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// publishClip loops the embedded clip into st in real time (speed 1) or
// faster, with increasing timestamps, until ctx ends. It returns once the
// first frame is published and a wait func for the end.
func publishClip(t testing.TB, ctx context.Context, st *stream.Stream, speed float64) (*sim.Clip, func()) {
	t.Helper()
	clip, err := sim.DefaultClip()
	if err != nil {
		t.Fatal(err)
	}
	tr := media.Track{ID: 0, Codec: media.CodecH264, ClockRate: sim.ClockRate, SPS: clip.SPS, PPS: clip.PPS,
		Width: clip.Width, Height: clip.Height}
	p := st.Publish([]media.Track{tr})
	first := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer p.Close()
		start := time.Now()
		timer := time.NewTimer(0)
		defer timer.Stop()
		for n := 0; ; n++ {
			loop, f := int64(n/len(clip.Frames)), clip.Frames[n%len(clip.Frames)]
			dts := loop*clip.Duration + f.DTS
			timer.Reset(time.Until(start.Add(time.Duration(float64(dts) / speed * float64(time.Second) / sim.ClockRate))))
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			au := &media.AccessUnit{Track: 0, DTS: dts, PTS: loop*clip.Duration + f.PTS, Key: f.Key,
				Wall:  start.Add(time.Duration(loop*clip.Duration+f.PTS) * time.Second / sim.ClockRate),
				NALUs: withParams(f, clip)}
			if err := p.Write(au); err != nil {
				return
			}
			if n == 0 {
				close(first)
			}
		}
	}()
	select {
	case <-first:
	case <-ctx.Done():
		t.Fatal("clip not published")
	}
	return clip, wg.Wait
}

// withParams puts SPS and PPS in front of a keyframe, as units carry them.
func withParams(f sim.Frame, c *sim.Clip) [][]byte {
	if !f.Key || (len(f.NALUs) > 0 && f.NALUs[0][0]&0x1f == 7) {
		return f.NALUs
	}
	return append([][]byte{c.SPS, c.PPS}, f.NALUs...)
}

// TestFFmpegPlaysLiveHLS: ffmpeg reads live.m3u8 through the real API
// (authenticated viewer) while the embedded clip is published in real time,
// and the copy it makes decodes cleanly with the expected frame count.
func TestFFmpegPlaysLiveHLS(t *testing.T) {
	t.Parallel()
	ffmpeg := testutil.RequireTool(t, "ffmpeg")
	ctx := testutil.Context(t, 60*time.Second)
	l := newLiveAPI(t, Config{})
	pubCtx, stop := context.WithCancel(ctx)
	clip, wait := publishClip(t, pubCtx, l.ts.stream("cam1"), 1)
	t.Cleanup(func() { stop(); wait() })
	time.Sleep(300 * time.Millisecond) // a few frames into the GOP

	// The first segment is there at the first playlist request.
	start := time.Now()
	code, pl := l.get(t, "/api/v1/cameras/cam1/live.m3u8", false)
	if code != 200 || !strings.Contains(string(pl), "\nlive/s0.mp4\n") {
		t.Fatalf("first playlist: %d\n%s", code, pl)
	}
	if code, seg := l.get(t, "/api/v1/cameras/cam1/live/s0.mp4", false); code != 200 || len(seg) == 0 {
		t.Fatalf("first segment: %d", code)
	}
	firstSeg := time.Since(start)
	t.Logf("first playlist + first segment: %v", firstSeg)
	if firstSeg > 200*time.Millisecond {
		t.Errorf("first segment took %v, want < one part duration (200 ms)", firstSeg)
	}

	const seconds = 6
	out := filepath.Join(t.TempDir(), "live.mp4")
	cmd := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-v", "error",
		"-headers", "Authorization: "+l.auth+"\r\n",
		"-i", l.url+"/api/v1/cameras/cam1/live.m3u8", "-t", fmt.Sprint(seconds), "-c", "copy", "-y", out)
	began := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil || len(b) > 0 {
		t.Fatalf("ffmpeg: %v: %s", err, b)
	}
	t.Logf("ffmpeg read %d s of live video in %v", seconds, time.Since(began))
	probe := testutil.FFprobe(t, out)
	if probe.DecodeErrors != "" {
		t.Errorf("decode errors: %s", probe.DecodeErrors)
	}
	v := probe.Video()
	want := int(seconds * clip.FPS)
	t.Logf("decoded %d frames (%dx%d %s), want ~%d", v.Frames(), v.Width, v.Height, v.CodecName, want)
	if v.CodecName != "h264" || v.Width != clip.Width || v.Frames() < want*9/10 || v.Frames() > want*11/10+1 {
		t.Errorf("got %s %dx%d with %d frames, want h264 %dx%d with ~%d", v.CodecName, v.Width, v.Height,
			v.Frames(), clip.Width, clip.Height, want)
	}
}

// TestLiveRoutesAuthorize: the routes go through the API's authentication
// and site scopes.
func TestLiveRoutesAuthorize(t *testing.T) {
	t.Parallel()
	l := newLiveAPI(t, Config{StartTimeout: 100 * time.Millisecond})
	for _, tc := range []struct {
		path string
		anon bool
		code int
	}{
		{"/api/v1/cameras/cam1/live.m3u8", true, 401},
		{"/api/v1/cameras/cam1/live/s0.mp4", true, 401},
		{"/api/v1/cameras/far/live.m3u8", false, 404}, // outside ann's sites
		{"/api/v1/cameras/nope/live.m3u8", false, 404},
		{"/api/v1/cameras/cam2/live.m3u8", false, 503}, // not publishing
		{"/api/v1/cameras/cam2/live/bad.mp4", false, 404},
	} {
		if code, b := l.get(t, tc.path, tc.anon); code != tc.code {
			t.Errorf("GET %s: %d, want %d: %s", tc.path, code, tc.code, b)
		}
	}
	if l.ts.releases("far") != 0 && l.srv.running() != 1 {
		t.Error("a refused request started a muxer")
	}
}

var lastPartRE = regexp.MustCompile(`(?s).*#EXT-X-PART:DURATION=([0-9.]+),URI="live/p(\d+)\.(\d+)\.mp4"`)

// TestLowLatencyClientFollowsParts plays the LL-HLS client's loop over HTTP
// through the real API: a blocking reload for the next part, then that
// part. Every blocking reload returns within about one part duration and
// the parts come in order without holes.
func TestLowLatencyClientFollowsParts(t *testing.T) {
	t.Parallel()
	ctx := testutil.Context(t, 30*time.Second)
	l := newLiveAPI(t, Config{})
	pubCtx, stop := context.WithCancel(ctx)
	_, wait := publishClip(t, pubCtx, l.ts.stream("cam1"), 1)
	t.Cleanup(func() { stop(); wait() })

	_, pl := l.get(t, "/api/v1/cameras/cam1/live.m3u8", false)
	msn, idx := lastPart(t, pl)
	var slowest time.Duration
	parts := 0
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		start := time.Now()
		code, pl := l.get(t, fmt.Sprintf("/api/v1/cameras/cam1/live.m3u8?_HLS_msn=%d&_HLS_part=%d", msn, idx+1), false)
		took := time.Since(start)
		slowest = max(slowest, took)
		if code != 200 {
			t.Fatalf("blocking reload: %d %s", code, pl)
		}
		m, i := lastPart(t, pl)
		if !(m == msn && i == idx+1) && !(m == msn+1 && i == 0) {
			t.Errorf("after part %d.%d the playlist's last part is %d.%d", msn, idx, m, i)
		}
		if code, b := l.get(t, fmt.Sprintf("/api/v1/cameras/cam1/live/p%d.%d.mp4", m, i), false); code != 200 || len(b) == 0 {
			t.Fatalf("part %d.%d: %d", m, i, code)
		}
		msn, idx = m, i
		parts++
	}
	t.Logf("followed %d parts in 3 s; slowest blocking reload %v", parts, slowest)
	if parts < 12 || slowest > 600*time.Millisecond {
		t.Errorf("followed %d parts (want ~15), slowest reload %v (want < 600 ms)", parts, slowest)
	}
}

func lastPart(t *testing.T, pl []byte) (msn, idx uint64) {
	t.Helper()
	m := lastPartRE.FindSubmatch(pl)
	if m == nil {
		t.Fatalf("no part in playlist:\n%s", pl)
	}
	msn, _ = strconv.ParseUint(string(m[2]), 10, 64)
	idx, _ = strconv.ParseUint(string(m[3]), 10, 64)
	return msn, idx
}
