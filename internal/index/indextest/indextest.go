// Package indextest is the backend-agnostic conformance suite for
// index.Index. Every backend's tests call Run; nothing here knows about a
// particular database.
//
// The suite assumes the contract documented on package index plus these
// backend-neutral rules, which it checks:
//   - times are stored with microsecond precision and returned in UTC;
//   - empty ids, cameras and paths are index.ErrInvalid;
//   - Segments and Gaps select rows with Start < to and End > from, and an
//     empty window (from >= to) selects nothing;
//   - segment paths are unique (index.ErrConflict);
//   - CommitSegments is all-or-nothing: an unknown id is ErrNotFound and a
//     segment that is no longer open is ErrConflict;
//   - ListEvents' From and To select Start in [From, To), pages are newest
//     first by (Start, ID), and a malformed cursor is index.ErrInvalid;
//   - AddEvent fills an empty Site from the camera's site;
//   - DeleteGapsBefore with an empty camera applies to every camera.
package indextest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// Opener returns a new, empty index for one test. The suite closes it.
type Opener func(t *testing.T) index.Index

// Run runs the whole suite against the backend that open creates.
func Run(t *testing.T, open func(t *testing.T) index.Index) {
	groups := []struct {
		name string
		run  func(t *testing.T, open Opener)
	}{
		{"Sites", testSites},
		{"Cameras", testCameras},
		{"SegmentAddGet", testSegmentAddGet},
		{"SegmentCommit", testSegmentCommit},
		{"SegmentReplace", testSegmentReplace},
		{"SegmentsRange", testSegmentsRange},
		{"SegmentsBefore", testSegmentsBefore},
		{"SegmentDelete", testSegmentDelete},
		{"OpenSegments", testOpenSegments},
		{"TotalBytes", testTotalBytes},
		{"Gaps", testGaps},
		{"ImportedSegments", testImportedSegments},
		{"LastImported", testLastImported},
		{"PendingGap", testPendingGap},
		{"Events", testEvents},
		{"EventFilters", testEventFilters},
		{"EventPagination", testEventPagination},
		{"Concurrency", testConcurrency},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.run(t, opener(open))
		})
	}
}

// opener wraps open so that every index is closed when its test ends.
func opener(open func(t *testing.T) index.Index) Opener {
	return func(t *testing.T) index.Index {
		t.Helper()
		idx := open(t)
		t.Cleanup(func() {
			if err := idx.Close(); err != nil {
				t.Errorf("close index: %v", err)
			}
		})
		return idx
	}
}

// at returns the suite's reference time plus d. Every time in the suite
// is a whole number of microseconds.
func at(d time.Duration) time.Time { return time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).Add(d) }

func ctxT(t *testing.T) context.Context { return t.Context() }

// ok fails the test now when err is not nil.
func ok(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// isErr checks that err wraps target.
func isErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// sameTime compares times by instant, reporting what.
func sameTime(t *testing.T, got, want time.Time, what string) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	if !got.IsZero() && got.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", what, got.Location())
	}
}

// segString renders a segment for comparison; times as unix microseconds.
func segString(s index.Segment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "id=%d cam=%s [%d,%d) bytes=%d path=%s state=%d init=%d codecs=%s origin=%q seq=%d frags=[",
		s.ID, s.Camera, s.Start.UnixMicro(), s.End.UnixMicro(), s.Bytes, s.Path, s.State,
		s.InitSize, s.Codecs, s.Origin, s.FirstSeq)
	for _, f := range s.Fragments {
		fmt.Fprintf(&b, "{%d %v %v}", f.Offset, f.Start, f.Key)
	}
	b.WriteString("]")
	return b.String()
}

func sameSegment(t *testing.T, got, want index.Segment) {
	t.Helper()
	if g, w := segString(got), segString(want); g != w {
		t.Errorf("segment:\n got %s\nwant %s", g, w)
	}
}

func sameSegments(t *testing.T, got, want []index.Segment) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d segments, want %d:\n got %v\nwant %v", len(got), len(want), ids(got), ids(want))
		return
	}
	for i := range got {
		sameSegment(t, got[i], want[i])
	}
}

func ids(segs []index.Segment) []int64 {
	out := make([]int64, len(segs))
	for i, s := range segs {
		out[i] = s.ID
	}
	return out
}

// frags returns n fragments one second and 1000 bytes apart, starting at
// offset off and time start, the first a keyframe.
func frags(n int, off int64, start time.Duration) []index.Fragment {
	out := make([]index.Fragment, n)
	for i := range out {
		out[i] = index.Fragment{
			Offset: off + int64(i)*1000,
			Start:  start + time.Duration(i)*time.Second,
			Key:    i%2 == 0,
		}
	}
	return out
}

// addSeg adds a segment and returns it with its id set.
func addSeg(t *testing.T, idx index.Index, s index.Segment) index.Segment {
	t.Helper()
	id, err := idx.AddSegment(ctxT(t), s)
	ok(t, err, "add segment")
	s.ID = id
	return s
}

// newSeg builds a closed segment of camera from start to end (offsets from
// base); its path is derived from camera and start.
func newSeg(camera string, start, end time.Duration) index.Segment {
	return index.Segment{
		Camera:   camera,
		Start:    at(start),
		End:      at(end),
		Bytes:    1000,
		Path:     fmt.Sprintf("%s/%d.mp4", camera, start.Milliseconds()),
		State:    index.SegmentClosed,
		InitSize: 100,
		Codecs:   "h264",
	}
}
