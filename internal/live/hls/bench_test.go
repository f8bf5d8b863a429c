package hls

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/stream"
)

// discard is a ResponseWriter that keeps nothing but the status.
type discard struct {
	h      http.Header
	status int
	n      int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(code int)        { d.status = code }
func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

// ReadFrom copies without a buffer of its own, as net/http's writer does.
func (d *discard) ReadFrom(r io.Reader) (int64, error) {
	n, err := io.Copy(io.Discard, r)
	d.n += int(n)
	return n, err
}

// newestPart is the name of the newest part the playlist lists.
func newestPart(m *muxer) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.segs) - 1; i >= 0; i-- {
		if s := m.segs[i]; len(s.parts) > 0 {
			return string(fileName(nil, fileRef{kind: filePart, a: s.msn, b: uint64(len(s.parts) - 1)}))
		}
	}
	return ""
}

// BenchmarkViewers: one camera muxer fed at 25 fps (~2.4 Mbit/s, 2 s GOP) in
// real time, and N concurrent viewers each doing, per op, what an LL-HLS
// player does per part: a playlist request and a GET of the newest part.
// The handlers are called directly (no network, no API auth), so this is
// the muxer's and handlers' own cost; cpu-ns/op is the process CPU time
// (rusage) per op, publisher included.
func BenchmarkViewers(b *testing.B) {
	for _, viewers := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("viewers=%d", viewers), func(b *testing.B) { benchViewers(b, viewers) })
	}
}

func benchViewers(b *testing.B, viewers int) {
	ts := newTestStreams()
	srv := New(Config{}, Deps{Streams: ts})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	wg.Add(2)
	go func() { defer wg.Done(); _ = srv.Run(ctx) }()
	tr := videoTrack(120, 68)
	p := ts.stream("cam").Publish([]media.Track{tr})
	g := newGen(tr, 25, 50)
	g.size, g.keySize = 10<<10, 60<<10
	g.writeN(b, p, 1)
	go func() { // real-time publisher
		defer wg.Done()
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_ = p.Write(g.next())
			}
		}
	}()
	req := api.Request{Camera: index.Camera{ID: "cam"}}
	serve := func(w *discard, r *http.Request) {
		clear(w.h)
		w.status, w.n = 0, 0
		if r.PathValue("file") != "" {
			srv.serveFile(w, r, req)
		} else {
			srv.servePlaylist(w, r, req)
		}
		if w.status != http.StatusOK {
			b.Errorf("GET %s: %d", r.URL, w.status)
		}
	}
	playlist := httptest.NewRequest(http.MethodGet, "/api/v1/cameras/cam/live.m3u8", nil)
	serve(&discard{h: http.Header{}}, playlist)
	time.Sleep(500 * time.Millisecond) // a few parts

	b.SetParallelism(max(1, viewers/max(1, runtime.GOMAXPROCS(0))))
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		// Requests are built once per part: what is measured is the
		// server's work, not httptest's request parsing.
		w := &discard{h: http.Header{}}
		pl := playlist.Clone(context.Background())
		var file *http.Request
		for pb.Next() {
			serve(w, pl)
			srv.mu.Lock()
			m := srv.muxers["cam"].m
			srv.mu.Unlock()
			if name := newestPart(m); file == nil || file.PathValue("file") != name {
				file = httptest.NewRequest(http.MethodGet, "/api/v1/cameras/cam/live/"+name, nil)
				file.SetPathValue("file", name)
			}
			serve(w, file)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMuxerWrite is the publisher-side cost of one muxer: per op, one
// 25 fps video unit (10 KiB, a 60 KiB keyframe every 2 s) through
// stream.Publisher.Write into the muxer (parts, segments, pruning).
func BenchmarkMuxerWrite(b *testing.B) {
	tr := videoTrack(120, 68)
	st := stream.New("cam", stream.Options{})
	m := newMuxer(Config{}.withDefaults(), slog.New(slog.DiscardHandler))
	st.AddReader(m)
	p := st.Publish([]media.Track{tr})
	g := newGen(tr, 25, 50)
	g.size, g.keySize = 10<<10, 60<<10
	units := make([]*media.AccessUnit, 500) // 20 s, reused with shifted timestamps
	for i := range units {
		units[i] = g.next()
	}
	b.ReportAllocs()
	b.SetBytes(int64(g.size))
	b.ResetTimer()
	for i := range b.N {
		u := *units[i%len(units)]
		shift := int64(i/len(units)) * g.dts(len(units))
		u.DTS += shift
		u.PTS += shift
		if err := p.Write(&u); err != nil {
			b.Fatal(err)
		}
	}
}
