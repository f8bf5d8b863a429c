package playback

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/segment"
)

func TestSegmentRouteRanges(t *testing.T) {
	e := twoSessions(t)
	ctx := context.Background()
	segs, err := e.f.Index.Segments(ctx, e.f.Camera, e.f.Sessions[0].Start, e.f.Sessions[1].End)
	if err != nil {
		t.Fatal(err)
	}
	seg := segs[1]
	file, err := os.ReadFile(filepath.Join(e.f.Dir, "recordings", filepath.FromSlash(seg.Path)))
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(file))
	if size != seg.Bytes {
		t.Fatalf("file %d bytes, index %d", size, seg.Bytes)
	}
	base := fmt.Sprintf("/api/v1/cameras/%s/segments/%d", e.f.Camera, seg.ID)
	tests := []struct {
		name, path, rng string
		code            int
		start, end      int64 // expected bytes of the file
	}{
		{"whole", base, "", http.StatusOK, 0, size},
		{"with extension", base + ".mp4", "", http.StatusOK, 0, size},
		{"first 100", base, "bytes=0-99", http.StatusPartialContent, 0, 100},
		{"suffix", base + ".mp4", "bytes=-500", http.StatusPartialContent, size - 500, size},
		{"open ended", base, fmt.Sprintf("bytes=%d-", size-1234), http.StatusPartialContent, size - 1234, size},
		{"unsatisfiable", base, fmt.Sprintf("bytes=%d-", size), http.StatusRequestedRangeNotSatisfiable, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.rng != "" {
				hdr = []string{"Range", tt.rng}
			}
			r := e.get(t, "op", tt.path, hdr...).must(t, tt.code)
			if tt.code == http.StatusRequestedRangeNotSatisfiable {
				r.errorMessage(t)
				if cr := r.header.Get("Content-Range"); cr != fmt.Sprintf("bytes */%d", size) {
					t.Fatalf("Content-Range %q", cr)
				}
				return
			}
			if ct := r.header.Get("Content-Type"); ct != "video/mp4" {
				t.Fatalf("content type %q", ct)
			}
			if !bytes.Equal(r.body, file[tt.start:tt.end]) {
				t.Fatalf("%d bytes, not the file's [%d, %d)", len(r.body), tt.start, tt.end)
			}
		})
	}
	etag := e.get(t, "op", base).header.Get("ETag")
	e.get(t, "op", base, "If-None-Match", etag).must(t, http.StatusNotModified)
}

func TestSegmentRouteNotFound(t *testing.T) {
	e := twoSessions(t)
	ctx := context.Background()
	segs, err := e.f.Index.Segments(ctx, e.f.Camera, e.f.Sessions[0].Start, e.f.Sessions[1].End)
	if err != nil {
		t.Fatal(err)
	}
	deleting := segs[len(segs)-1]
	if err := e.f.Index.MarkDeleting(ctx, []int64{deleting.ID}); err != nil {
		t.Fatal(err)
	}
	// A camera of the same site with no footage: its URL must not reach
	// cam-1's segments.
	if _, err := e.f.Index.CreateCamera(ctx, index.Camera{ID: "cam-2", Name: "cam-2", Site: e.f.Site}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, path string
		code             int
	}{
		{"another camera's segment", "op", fmt.Sprintf("/api/v1/cameras/cam-2/segments/%d", segs[0].ID), http.StatusNotFound},
		{"unknown segment", "op", "/api/v1/cameras/cam-1/segments/999999.mp4", http.StatusNotFound},
		{"being deleted", "op", fmt.Sprintf("/api/v1/cameras/cam-1/segments/%d", deleting.ID), http.StatusNotFound},
		{"malformed id", "op", "/api/v1/cameras/cam-1/segments/abc", http.StatusBadRequest},
		{"negative id", "op", "/api/v1/cameras/cam-1/segments/-4.mp4", http.StatusBadRequest},
		{"bad t0", "op", fmt.Sprintf("/api/v1/cameras/cam-1/segments/%d?t0=yesterday", segs[0].ID), http.StatusBadRequest},
		{"camera outside the user's sites", "far", fmt.Sprintf("/api/v1/cameras/cam-1/segments/%d", segs[0].ID), http.StatusNotFound},
		{"viewer may not play back", "view", fmt.Sprintf("/api/v1/cameras/cam-1/segments/%d", segs[0].ID), http.StatusForbidden},
		{"no credentials", "", fmt.Sprintf("/api/v1/cameras/cam-1/segments/%d", segs[0].ID), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.get(t, tt.user, tt.path).must(t, tt.code).errorMessage(t)
		})
	}
}

// TestSegmentRouteRebased checks the t0 form: same bytes as the file but
// for the tfdt values, which count from t0.
func TestSegmentRouteRebased(t *testing.T) {
	e := twoSessions(t)
	ctx := context.Background()
	segs, err := e.f.Index.Segments(ctx, e.f.Camera, e.f.Sessions[0].Start, e.f.Sessions[1].End)
	if err != nil {
		t.Fatal(err)
	}
	seg := segs[1]
	t0 := e.f.Sessions[0].Start
	stored := e.get(t, "op", fmt.Sprintf("/api/v1/cameras/cam-1/segments/%d", seg.ID)).must(t, http.StatusOK).body
	r := e.get(t, "op", fmt.Sprintf("/api/v1/cameras/cam-1/segments/%d.mp4?t0=%s", seg.ID, t0.Format("2006-01-02T15:04:05Z")))
	rebased := r.must(t, http.StatusOK).body
	if len(rebased) != len(stored) {
		t.Fatalf("rebased %d bytes, stored %d", len(rebased), len(stored))
	}
	a, err := segment.Scan(bytes.NewReader(stored), int64(len(stored)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := segment.Scan(bytes.NewReader(rebased), int64(len(rebased)))
	if err != nil || b.Tail != nil || len(b.Fragments) != len(a.Fragments) {
		t.Fatalf("rebased file: %v, tail %v, %d fragments", err, b.Tail, len(b.Fragments))
	}
	shift := uint64(durTicks(seg.Start.Sub(t0), 90000))
	for i := range a.Fragments {
		if b.Fragments[i].BaseTime != a.Fragments[i].BaseTime+shift {
			t.Fatalf("fragment %d: decode time %d, want %d + %d", i, b.Fragments[i].BaseTime, a.Fragments[i].BaseTime, shift)
		}
		// Everything but the tfdt value is as stored (the sequence
		// number too).
		off, size := a.Fragments[i].Offset, a.Fragments[i].Size
		x, y := bytes.Clone(stored[off:off+size]), bytes.Clone(rebased[off:off+size])
		j := bytes.Index(x, []byte("tfdt"))
		binary.BigEndian.PutUint64(x[j+8:], 0)
		binary.BigEndian.PutUint64(y[j+8:], 0)
		if !bytes.Equal(x, y) {
			t.Fatalf("fragment %d differs beyond its tfdt", i)
		}
	}
	if !bytes.Equal(stored[:seg.InitSize], rebased[:seg.InitSize]) {
		t.Fatal("init block differs")
	}
	// Ranges of the rebased form equal the same bytes of its full read.
	part := e.get(t, "op", fmt.Sprintf("/api/v1/cameras/cam-1/segments/%d.mp4?t0=%s", seg.ID, t0.Format("2006-01-02T15:04:05Z")),
		"Range", "bytes=700-90000").must(t, http.StatusPartialContent).body
	if !bytes.Equal(part, rebased[700:90001]) {
		t.Fatal("range of the rebased segment differs from its full read")
	}
}
