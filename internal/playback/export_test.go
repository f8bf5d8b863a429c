package playback

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/record"
	"github.com/vigil-video/vigil/internal/record/recordtest"
	"github.com/vigil-video/vigil/internal/testutil"
)

// saveExport writes an export answer to a file for ffprobe.
func saveExport(t testing.TB, body []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "export.mp4")
	if err := os.WriteFile(p, body, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// fileFrameTimes lists the video frame times ffprobe decodes from a file.
func fileFrameTimes(t testing.TB, path string) []float64 {
	t.Helper()
	return probeFrames(t, "op", path)
}

func TestExportPlaysAcrossSegmentsAndGap(t *testing.T) {
	e := twoSessions(t)
	s0, s1 := e.f.Sessions[0], e.f.Sessions[1]
	start := s0.Start
	tests := []struct {
		name          string
		from, to      time.Duration // from the first session's start
		first, endsAt time.Duration // expected footage start and end
	}{
		{"everything", 0, s1.End.Sub(start), 0, s1.End.Sub(start)},
		{"mid fragment", 3500 * time.Millisecond, 8500 * time.Millisecond, 2 * time.Second, 9 * time.Second},
		{"across a segment cut", 9500 * time.Millisecond, 21 * time.Second, 8 * time.Second, 21 * time.Second},
		{"across the gap", 20 * time.Second, 40 * time.Second, 20 * time.Second, 40 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.get(t, "op", e.exportPath(start.Add(tt.from), start.Add(tt.to))).must(t, http.StatusOK)
			if ct := r.header.Get("Content-Type"); ct != "video/mp4" {
				t.Fatalf("content type %q", ct)
			}
			if got, want := r.header.Get(HeaderExportStart), fmtTime(start.Add(tt.first)); got != want {
				t.Fatalf("%s %s, want %s", HeaderExportStart, got, want)
			}
			if got, want := r.header.Get(HeaderExportEnd), fmtTime(start.Add(tt.endsAt)); got != want {
				t.Fatalf("%s %s, want %s", HeaderExportEnd, got, want)
			}
			wantName := fmt.Sprintf(`attachment; filename="cam-1_%s_%s.mp4"`, fileTime(start.Add(tt.first)), fileTime(start.Add(tt.endsAt)))
			if cd := r.header.Get("Content-Disposition"); cd != wantName {
				t.Fatalf("content disposition %q, want %q", cd, wantName)
			}
			path := saveExport(t, r.body)
			p := testutil.FFprobe(t, path)
			if p.DecodeErrors != "" {
				t.Fatalf("ffmpeg decoding the export: %s", p.DecodeErrors)
			}
			wantFrames := framesIn(e.f, start.Add(tt.first), start.Add(tt.endsAt))
			if got := p.Video().Frames(); got != wantFrames {
				t.Fatalf("ffprobe counted %d frames, want %d", got, wantFrames)
			}
			if got, want := p.Duration(), (tt.endsAt - tt.first).Seconds(); math.Abs(got-want) > 1 {
				t.Fatalf("duration %.3f s, want %.3f s", got, want)
			}
			// Frame times follow wall time from the export's start: the gap
			// stays a jump in time.
			times := fileFrameTimes(t, path)
			dur := time.Duration(float64(time.Second) / e.f.FPS)
			k := 0
			for i, s := range e.f.Sessions {
				for n := 0; n < e.f.Frames[i]; n++ {
					at := s.Start.Add(time.Duration(n) * dur)
					if at.Before(start.Add(tt.first)) || !at.Before(start.Add(tt.endsAt)) {
						continue
					}
					if want := at.Sub(start.Add(tt.first)).Seconds(); math.Abs(times[k]-want) > 0.002 {
						t.Fatalf("frame %d at %.3f s, want %.3f s", k, times[k], want)
					}
					k++
				}
			}
		})
	}
}

func TestExportRangeReadsMatchFullRead(t *testing.T) {
	e := twoSessions(t)
	path := e.exportPath(e.f.Sessions[0].Start, e.f.Sessions[1].End)
	full := e.get(t, "op", path).must(t, http.StatusOK)
	size := int64(len(full.body))
	if cl := full.header.Get("Content-Length"); cl != fmt.Sprint(size) {
		t.Fatalf("content length %q, body %d bytes", cl, size)
	}
	if full.header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("no Accept-Ranges: %v", full.header)
	}
	tests := []struct {
		rng        string
		start, end int64 // expected bytes [start, end)
	}{
		{"bytes=0-99", 0, 100},
		{"bytes=600-5000", 600, 5001},           // across the init block's end
		{"bytes=100000-400000", 100000, 400001}, // several fragments
		{fmt.Sprintf("bytes=%d-", size-1000), size - 1000, size},
		{"bytes=-777", size - 777, size},
	}
	for _, tt := range tests {
		t.Run(tt.rng, func(t *testing.T) {
			r := e.get(t, "op", path, "Range", tt.rng).must(t, http.StatusPartialContent)
			if !bytes.Equal(r.body, full.body[tt.start:tt.end]) {
				t.Fatalf("range %s: %d bytes differ from the full read's [%d, %d)", tt.rng, len(r.body), tt.start, tt.end)
			}
		})
	}
	e.get(t, "op", path, "Range", fmt.Sprintf("bytes=%d-", size)).must(t, http.StatusRequestedRangeNotSatisfiable).errorMessage(t)
	etag := full.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	e.get(t, "op", path, "If-None-Match", etag).must(t, http.StatusNotModified)
}

func TestExportStopsAtLayoutChange(t *testing.T) {
	e := newEnv(t, recordtest.Options{Sessions: []time.Duration{8 * time.Second},
		Record: record.Config{SegmentDuration: 4 * time.Second}})
	ctx := context.Background()
	s := e.f.Sessions[0]
	segs, err := e.f.Index.Segments(ctx, e.f.Camera, s.Start, s.End)
	if err != nil || len(segs) != 2 {
		t.Fatalf("%d segments, %v", len(segs), err)
	}
	// A later segment whose init block differs (another picture size in
	// tkhd): a copy of the first file with one init byte changed.
	src, err := os.ReadFile(filepath.Join(e.f.Dir, "recordings", filepath.FromSlash(segs[0].Path)))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(src[:segs[0].InitSize], []byte("tkhd"))
	src[i+4+84-8] ^= 0x01 // width, 16.16 fixed point, in a version 0 tkhd
	changed := segs[0]
	changed.Start = s.End.Add(time.Second)
	changed.End = changed.Start.Add(segs[0].End.Sub(segs[0].Start))
	changed.Path = "cam-1/changed.mp4"
	changed.State = index.SegmentClosed
	if err := os.WriteFile(filepath.Join(e.f.Dir, "recordings", "cam-1", "changed.mp4"), src, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := e.f.Index.AddSegment(ctx, changed); err != nil {
		t.Fatal(err)
	}
	r := e.get(t, "op", e.exportPath(s.Start, changed.End)).must(t, http.StatusOK)
	if got := r.header.Get(HeaderExportEnd); got != fmtTime(s.End) {
		t.Fatalf("%s %s, want %s (before the changed segment)", HeaderExportEnd, got, fmtTime(s.End))
	}
	p := testutil.FFprobe(t, saveExport(t, r.body))
	if p.DecodeErrors != "" || p.Video().Frames() != e.f.Frames[0] {
		t.Fatalf("export: %d frames (want %d), errors %q", p.Video().Frames(), e.f.Frames[0], p.DecodeErrors)
	}
	// The playlist, built from the index alone (which cannot tell the two
	// layouts apart), still lists the changed segment.
	_, entries := parsePlaylist(t, e.get(t, "op", e.playlistPath(s.Start, changed.End)).must(t, http.StatusOK).body)
	last := entries[len(entries)-1]
	if !strings.HasPrefix(last.uri, fmt.Sprintf("segments/%d.mp4", 3)) {
		t.Fatalf("playlist ends with %q", last.uri)
	}
}

// TestExportMemoryBounded exports 10 minutes (10 one-minute segments)
// and checks that the bytes the process allocates while serving it stay
// a small fraction of the file: the export streams from the segment
// files and never holds more than one moof and a copy buffer.
func TestExportMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("records 10 minutes of footage")
	}
	e := newEnv(t, recordtest.Options{Sessions: []time.Duration{10 * time.Minute},
		Record: record.Config{SegmentDuration: time.Minute}})
	s := e.f.Sessions[0]
	ctx := testutil.Context(t, 60*time.Second)
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+e.exportPath(s.Start, s.End), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", basicAuth("op"))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	n, err := io.CopyBuffer(io.Discard, res.Body, buf)
	res.Body.Close()
	runtime.ReadMemStats(&after)
	if err != nil || res.StatusCode != http.StatusOK || n != res.ContentLength {
		t.Fatalf("export: status %d, %d of %d bytes, %v", res.StatusCode, n, res.ContentLength, err)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("export of %d bytes: %d bytes allocated in all (client, server, index query)", n, allocated)
	if n < 10<<20 {
		t.Fatalf("export of only %d bytes; the test needs a large one", n)
	}
	if allocated > uint64(n)/8 || allocated > 8<<20 {
		t.Fatalf("serving a %d-byte export allocated %d bytes: it does not stream", n, allocated)
	}
}

func TestExportReaderReusesItsBuffer(t *testing.T) {
	e := twoSessions(t)
	s0, s1 := e.f.Sessions[0], e.f.Sessions[1]
	ctx := context.Background()
	segs, err := e.f.Index.Segments(ctx, e.f.Camera, s0.Start, s1.End)
	if err != nil {
		t.Fatal(err)
	}
	clips, _ := selectClips(segs, s0.Start, s1.End)
	lay, _, err := e.svc.planExport(ctx, clips)
	if err != nil {
		t.Fatal(err)
	}
	rd := newExportReader(ctx, e.f.Blobs, lay)
	defer rd.Close()
	buf := make([]byte, 32<<10)
	var total int64
	maxMoofCap := 0
	for {
		n, err := rd.Read(buf)
		total += int64(n)
		maxMoofCap = max(maxMoofCap, cap(rd.moof))
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if total != lay.size {
		t.Fatalf("read %d bytes of %d", total, lay.size)
	}
	if maxMoofCap > 64<<10 {
		t.Fatalf("moof buffer grew to %d bytes", maxMoofCap)
	}
	// A second pass over the whole export (seek back) allocates only when
	// it opens a segment file: not per fragment, not per read.
	if _, err := rd.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	reads := 0
	for {
		_, err := rd.Read(buf)
		reads++
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&ms1)
	perOpen := float64(ms1.Mallocs-ms0.Mallocs) / float64(len(lay.segs))
	t.Logf("%d reads, %d fragments, %d files: %.1f allocations per file", reads, len(lay.frags), len(lay.segs), perOpen)
	if perOpen > 20 {
		t.Fatalf("%.1f allocations per segment file: the reader allocates per fragment or per read", perOpen)
	}
}
