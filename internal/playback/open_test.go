package playback

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/record"
	"github.com/vigil-video/vigil/internal/record/recordtest"
	"github.com/vigil-video/vigil/internal/testutil"
)

// TestOpenSegmentServesDurableBytesOnly indexes a segment as open with
// only its first 4 fragments durable (the file holds more, as a file being
// written does): the segment route, the playlist and the export use only
// those 4 fragments.
func TestOpenSegmentServesDurableBytesOnly(t *testing.T) {
	e := newEnv(t, recordtest.Options{Sessions: []time.Duration{10 * time.Second},
		Record: record.Config{SegmentDuration: time.Minute}})
	ctx := context.Background()
	s := e.f.Sessions[0]
	segs, err := e.f.Index.Segments(ctx, e.f.Camera, s.Start, s.End)
	if err != nil || len(segs) != 1 || len(segs[0].Fragments) < 8 {
		t.Fatalf("segments %v: %v", segs, err)
	}
	full := segs[0]
	// The same file, indexed later as an open segment of the same camera.
	open := full
	open.Start = s.End.Add(time.Hour)
	open.Path = "cam-1/open.mp4"
	open.State = index.SegmentOpen
	open.Fragments = full.Fragments[:4]
	open.Bytes = full.Fragments[4].Offset
	open.End = open.Start.Add(full.Fragments[4].Start)
	data, err := os.ReadFile(filepath.Join(e.f.Dir, "recordings", filepath.FromSlash(full.Path)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.f.Dir, "recordings", "cam-1", "open.mp4"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if open.ID, err = e.f.Index.AddSegment(ctx, open); err != nil {
		t.Fatal(err)
	}

	r := e.get(t, "op", fmt.Sprintf("/api/v1/cameras/cam-1/segments/%d.mp4", open.ID)).must(t, http.StatusOK)
	if int64(len(r.body)) != open.Bytes {
		t.Fatalf("served %d bytes of an open segment with %d durable", len(r.body), open.Bytes)
	}
	e.get(t, "op", fmt.Sprintf("/api/v1/cameras/cam-1/segments/%d.mp4", open.ID),
		"Range", fmt.Sprintf("bytes=%d-", open.Bytes)).must(t, http.StatusRequestedRangeNotSatisfiable)

	from, to := open.Start, open.Start.Add(time.Minute)
	_, entries := parsePlaylist(t, e.get(t, "op", e.playlistPath(from, to)).must(t, http.StatusOK).body)
	if len(entries) != 4 {
		t.Fatalf("playlist of %d fragments, want the 4 durable ones", len(entries))
	}
	ex := e.get(t, "op", e.exportPath(from, to)).must(t, http.StatusOK)
	if got := ex.header.Get(HeaderExportEnd); got != fmtTime(open.End) {
		t.Fatalf("export ends at %s, want %s", got, fmtTime(open.End))
	}
	p := testutil.FFprobe(t, saveExport(t, ex.body))
	if p.DecodeErrors != "" || p.Video().Frames() != 40 {
		t.Fatalf("export of the open segment: %d frames (want 40), errors %q", p.Video().Frames(), p.DecodeErrors)
	}
}
