package playback

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/record"
	"github.com/vigil-video/vigil/internal/record/recordtest"
)

// dayEnv records one real minute and indexes it 1440 times back to back
// (hard links to the same file), so the index holds a 24-hour camera-day
// of one-minute segments with about 60 fragments each.
func dayEnv(b *testing.B) (*env, time.Time) {
	b.Helper()
	e := newEnv(b, recordtest.Options{Sessions: []time.Duration{time.Minute},
		Record: record.Config{SegmentDuration: 2 * time.Minute}})
	ctx := context.Background()
	start := e.f.Sessions[0].Start
	segs, err := e.f.Index.Segments(ctx, e.f.Camera, start, start.Add(time.Hour))
	if err != nil || len(segs) != 1 {
		b.Fatalf("%d segments: %v", len(segs), err)
	}
	seg := segs[0]
	span := seg.End.Sub(seg.Start)
	src := filepath.Join(e.f.Dir, "recordings", filepath.FromSlash(seg.Path))
	if err := os.MkdirAll(filepath.Join(e.f.Dir, "recordings", e.f.Camera, "day"), 0o755); err != nil {
		b.Fatal(err)
	}
	for i := 1; i < int(24*time.Hour/span); i++ {
		s := seg
		s.Start = seg.Start.Add(time.Duration(i) * span)
		s.End = s.Start.Add(span)
		s.Path = fmt.Sprintf("%s/day/%04d.mp4", e.f.Camera, i)
		s.State = index.SegmentClosed
		if err := os.Link(src, filepath.Join(e.f.Dir, "recordings", filepath.FromSlash(s.Path))); err != nil {
			b.Fatal(err)
		}
		if _, err := e.f.Index.AddSegment(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	return e, start
}

// sessionClient logs in as op and returns a client carrying the session
// cookie (what a browser does).
func (e *env) sessionClient(b *testing.B) *http.Client {
	b.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	c := &http.Client{Jar: jar, Transport: e.srv.Client().Transport}
	res, err := c.Post(e.srv.URL+"/api/v1/login", "application/json",
		strings.NewReader(`{"username":"op","password":"`+testUsers["op"]+`"}`))
	if err != nil || res.StatusCode != http.StatusOK {
		b.Fatalf("login: %v %v", res, err)
	}
	res.Body.Close()
	return c
}

// getRange fetches u with an optional byte range and discards the body,
// returning its length.
func getRange(c *http.Client, u, rng string) (int64, error) {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		return 0, err
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err == nil && res.StatusCode/100 != 2 {
		err = fmt.Errorf("GET %s: %s", u, res.Status)
	}
	return n, err
}

// firstMedia reads a playlist's first init block and first fragment:
// their URI and byte ranges as HTTP Range values.
func firstMedia(body io.Reader) (mapURI, mapRange, uri, rng string) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#EXT-X-MAP:") && mapURI == "":
			v := strings.TrimPrefix(line, "#EXT-X-MAP:")
			mapURI = between(v, `URI="`, `"`)
			mapRange = httpRange(between(v, `BYTERANGE="`, `"`))
		case strings.HasPrefix(line, "#EXT-X-BYTERANGE:"):
			rng = httpRange(strings.TrimPrefix(line, "#EXT-X-BYTERANGE:"))
		case line != "" && !strings.HasPrefix(line, "#"):
			return mapURI, mapRange, line, rng
		}
	}
	return
}

func between(s, a, b string) string {
	_, v, _ := strings.Cut(s, a)
	v, _, _ = strings.Cut(v, b)
	return v
}

// httpRange turns an HLS "len@off" into "bytes=off-(off+len-1)".
func httpRange(hls string) string {
	var n, off int64
	fmt.Sscanf(hls, "%d@%d", &n, &off)
	return fmt.Sprintf("bytes=%d-%d", off, off+n-1)
}

// BenchmarkSeek times what a player does to show a random moment of a
// 24-hour recording: the playlist for [moment, moment+window), then its
// first init block and first fragment (to the fragment's last byte), over
// a logged-in session. Run it with -benchtime=1000x for 1,000 seeks; it
// reports p50 and p99 per window.
func BenchmarkSeek(b *testing.B) {
	e, start := dayEnv(b)
	c := e.sessionClient(b)
	for _, w := range []struct {
		name string
		d    time.Duration
	}{{"10m", 10 * time.Minute}, {"1h", time.Hour}, {"24h", 24 * time.Hour}} {
		b.Run("window="+w.name, func(b *testing.B) { benchSeek(b, e, c, start, w.d) })
	}
}

func benchSeek(b *testing.B, e *env, c *http.Client, start time.Time, window time.Duration) {
	base := e.srv.URL + "/api/v1/cameras/" + e.f.Camera + "/"
	rnd := rand.New(rand.NewPCG(1, 2))
	var lat []time.Duration
	for b.Loop() {
		at := start.Add(time.Duration(rnd.Int64N(int64(24*time.Hour - time.Minute))))
		t0 := time.Now()
		res, err := c.Get(base + "playback.m3u8" + rangeQuery(at, at.Add(window)))
		if err != nil || res.StatusCode != http.StatusOK {
			b.Fatalf("playlist: %v %v", res, err)
		}
		mapURI, mapRange, uri, rng := firstMedia(res.Body)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if _, err := getRange(c, base+mapURI, mapRange); err != nil {
			b.Fatal(err)
		}
		if _, err := getRange(c, base+uri, rng); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkExport exports one hour (60 one-minute segments, about 135 MB)
// over HTTP and reports MB/s and the peak heap growth while it runs.
func BenchmarkExport(b *testing.B) {
	e := newEnv(b, recordtest.Options{Sessions: []time.Duration{time.Hour},
		Record: record.Config{SegmentDuration: time.Minute}})
	s := e.f.Sessions[0]
	c := e.sessionClient(b)
	u := e.srv.URL + e.exportPath(s.Start, s.End)
	var size int64
	var peak atomic.Uint64
	runtime.GC()
	base := heapBytes()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // samples the heap while the exports run
		defer close(done)
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				if h := heapBytes(); h > peak.Load() {
					peak.Store(h)
				}
			}
		}
	}()
	for b.Loop() {
		n, err := getRange(c, u, "")
		if err != nil {
			b.Fatal(err)
		}
		size = n
	}
	close(stop)
	<-done
	b.SetBytes(size)
	b.ReportMetric(float64(size)/1e6, "export-MB")
	b.ReportMetric(float64(peak.Load()-min(base, peak.Load()))/(1<<20), "peak-heap-growth-MiB")
}

// heapBytes is the live-and-unswept heap object bytes.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
