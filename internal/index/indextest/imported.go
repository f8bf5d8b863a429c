package indextest

import (
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// importedSeg is an open segment of camera uploaded from origin, its first
// fragment numbered firstSeq.
func importedSeg(camera, origin string, start time.Duration, firstSeq uint64) index.Segment {
	s := openSeg(camera, start)
	s.Path = camera + "/" + origin + "/" + start.String() + ".mp4"
	s.Origin, s.FirstSeq = origin, firstSeq
	return s
}

// testImportedSegments: Origin and FirstSeq come back from every read and
// survive commits and ReplaceSegment.
func testImportedSegments(t *testing.T, open Opener) {
	idx := open(t)
	s := addSeg(t, idx, importedSeg("cam1", "o1", 0, 7))
	ok(t, idx.CommitSegments(ctxT(t), []index.SegmentUpdate{
		{ID: s.ID, End: at(3 * time.Second), Bytes: 3100, Fragments: frags(3, 100, 0)}}), "commit")
	s.End, s.Bytes, s.Fragments = at(3*time.Second), 3100, frags(3, 100, 0)
	noFrags := s
	noFrags.Fragments = nil
	reads := []struct {
		name string
		get  func(t *testing.T) index.Segment
		want index.Segment
	}{
		{"GetSegment", func(t *testing.T) index.Segment {
			g, err := idx.GetSegment(ctxT(t), s.ID)
			ok(t, err, "get segment")
			return g
		}, s},
		{"Segments", func(t *testing.T) index.Segment { return one(t)(idx.Segments(ctxT(t), "cam1", at(0), at(time.Hour))) }, s},
		{"OpenSegments", func(t *testing.T) index.Segment { return one(t)(idx.OpenSegments(ctxT(t))) }, s},
		{"SegmentsBefore", func(t *testing.T) index.Segment { return one(t)(idx.SegmentsBefore(ctxT(t), at(time.Hour), 0)) }, noFrags},
		{"CameraSegmentsBefore", func(t *testing.T) index.Segment {
			return one(t)(idx.CameraSegmentsBefore(ctxT(t), "cam1", at(time.Hour), 0))
		}, noFrags},
	}
	for _, r := range reads {
		t.Run(r.name, func(t *testing.T) { sameSegment(t, r.get(t), r.want) })
	}
	t.Run("ReplaceKeepsOrigin", func(t *testing.T) {
		repl := s
		repl.Origin, repl.FirstSeq = "other", 99 // ignored: the row keeps its own
		repl.Fragments, repl.End, repl.Bytes, repl.State = frags(1, 100, 0), at(time.Second), 1100, index.SegmentClosed
		ok(t, idx.ReplaceSegment(ctxT(t), repl), "replace segment")
		got, err := idx.GetSegment(ctxT(t), s.ID)
		ok(t, err, "get segment")
		want := repl
		want.Origin, want.FirstSeq = s.Origin, s.FirstSeq
		sameSegment(t, got, want)
	})
}

// one returns the only segment of a listing.
func one(t *testing.T) func(segs []index.Segment, err error) index.Segment {
	return func(segs []index.Segment, err error) index.Segment {
		t.Helper()
		ok(t, err, "list segments")
		if len(segs) != 1 {
			t.Fatalf("got %d segments, want 1", len(segs))
		}
		return segs[0]
	}
}

func testLastImported(t *testing.T, open Opener) {
	type step func(t *testing.T, idx index.Index)
	commit := func(seg *index.Segment, n int, end time.Duration) step {
		return func(t *testing.T, idx index.Index) {
			seg.Fragments = append(seg.Fragments, frags(n, int64(100+1000*len(seg.Fragments)), time.Duration(len(seg.Fragments))*time.Second)...)
			ok(t, idx.CommitSegments(ctxT(t), []index.SegmentUpdate{
				{ID: seg.ID, End: at(end), Bytes: int64(100 + 1000*len(seg.Fragments)), Fragments: seg.Fragments[len(seg.Fragments)-n:]}}), "commit")
		}
	}
	add := func(seg *index.Segment) step {
		return func(t *testing.T, idx index.Index) { *seg = addSeg(t, idx, *seg) }
	}
	tests := []struct {
		name    string
		steps   func() []step
		camera  string
		origin  string
		wantSeq uint64
		wantEnd time.Duration
		err     error
	}{
		{name: "None", steps: func() []step { return nil }, camera: "cam1", origin: "o1"},
		{name: "EmptyOrigin", steps: func() []step { return nil }, camera: "cam1", origin: "", err: index.ErrInvalid},
		{name: "OpenWithoutFragments", steps: func() []step {
			a := importedSeg("cam1", "o1", 0, 5)
			return []step{add(&a)}
		}, camera: "cam1", origin: "o1"},
		{name: "Committed", steps: func() []step {
			a := importedSeg("cam1", "o1", 0, 5)
			return []step{add(&a), commit(&a, 2, 2*time.Second), commit(&a, 3, 5*time.Second)}
		}, camera: "cam1", origin: "o1", wantSeq: 9, wantEnd: 5 * time.Second},
		{name: "HighestSegmentWins", steps: func() []step {
			a, b := importedSeg("cam1", "o1", 0, 1), importedSeg("cam1", "o1", time.Minute, 20)
			return []step{add(&a), commit(&a, 10, 10*time.Second), add(&b), commit(&b, 4, time.Minute+4*time.Second)}
		}, camera: "cam1", origin: "o1", wantSeq: 23, wantEnd: time.Minute + 4*time.Second},
		{name: "NewSegmentNotYetCommitted", steps: func() []step {
			a, b := importedSeg("cam1", "o1", 0, 1), importedSeg("cam1", "o1", time.Minute, 30)
			return []step{add(&a), commit(&a, 10, 10*time.Second), add(&b)}
		}, camera: "cam1", origin: "o1", wantSeq: 10, wantEnd: 10 * time.Second},
		{name: "DeletingStillCounts", steps: func() []step {
			a := importedSeg("cam1", "o1", 0, 1)
			return []step{add(&a), commit(&a, 3, 3*time.Second), func(t *testing.T, idx index.Index) {
				ok(t, idx.MarkDeleting(ctxT(t), []int64{a.ID}), "mark deleting")
			}}
		}, camera: "cam1", origin: "o1", wantSeq: 3, wantEnd: 3 * time.Second},
		{name: "ReplaceShrinks", steps: func() []step {
			a := importedSeg("cam1", "o1", 0, 1)
			return []step{add(&a), commit(&a, 5, 5*time.Second), func(t *testing.T, idx index.Index) {
				r := a
				r.Fragments, r.End, r.State = a.Fragments[:2], at(2*time.Second), index.SegmentClosed
				ok(t, idx.ReplaceSegment(ctxT(t), r), "replace")
			}}
		}, camera: "cam1", origin: "o1", wantSeq: 2, wantEnd: 2 * time.Second},
		{name: "OtherOriginAndCamera", steps: func() []step {
			a, b, c := importedSeg("cam1", "o2", 0, 100), importedSeg("cam2", "o1", 0, 200), openSeg("cam1", time.Hour)
			return []step{add(&a), commit(&a, 1, time.Second), add(&b), commit(&b, 1, time.Second), add(&c), commit(&c, 3, time.Hour+3*time.Second)}
		}, camera: "cam1", origin: "o1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			idx := open(t)
			for _, st := range tt.steps() {
				st(t, idx)
			}
			seq, end, err := idx.LastImported(ctxT(t), tt.camera, tt.origin)
			if tt.err != nil {
				isErr(t, err, tt.err, "last imported")
				return
			}
			ok(t, err, "last imported")
			if seq != tt.wantSeq {
				t.Errorf("last imported seq %d, want %d", seq, tt.wantSeq)
			}
			if tt.wantSeq == 0 {
				if !end.IsZero() {
					t.Errorf("end %v with no seq", end)
				}
				return
			}
			sameTime(t, end, at(tt.wantEnd), "end")
		})
	}
}

func testPendingGap(t *testing.T, open Opener) {
	idx := open(t)
	m := time.Minute
	lost := addGap(t, idx, "a", 0, m, index.GapLost)
	other := addGap(t, idx, "b", 0, m, index.GapLost)
	pending := func(start, end time.Duration) index.Gap {
		return index.Gap{Camera: "a", Start: at(start), End: at(end), State: index.GapPending}
	}
	steps := []struct {
		name       string
		camera     string
		start, end time.Duration
		want       []index.Gap // camera a's gaps; IDs of pending ones are not compared
		err        error
	}{
		{"Set", "a", 10 * m, 20 * m, []index.Gap{lost, pending(10*m, 20*m)}, nil},
		{"Replace", "a", 15 * m, 30 * m, []index.Gap{lost, pending(15*m, 30*m)}, nil},
		{"SetAgainSame", "a", 15 * m, 30 * m, []index.Gap{lost, pending(15*m, 30*m)}, nil},
		{"Remove", "a", 30 * m, 30 * m, []index.Gap{lost}, nil},
		{"RemoveNone", "a", 40 * m, 30 * m, []index.Gap{lost}, nil},
		{"SetAfterRemove", "a", 2 * m, 3 * m, []index.Gap{lost, pending(2*m, 3*m)}, nil},
		{"EmptyCamera", "", 0, m, []index.Gap{lost, pending(2*m, 3*m)}, index.ErrInvalid},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			err := idx.SetPendingGap(ctxT(t), st.camera, at(st.start), at(st.end))
			if st.err != nil {
				isErr(t, err, st.err, "set pending gap")
			} else {
				ok(t, err, "set pending gap")
			}
			got, err := idx.Gaps(ctxT(t), "a", at(-time.Hour), at(time.Hour))
			ok(t, err, "gaps")
			for i := range got {
				if got[i].State == index.GapPending {
					if got[i].Reason == "" {
						t.Errorf("pending gap without reason")
					}
					got[i].ID, got[i].Reason = 0, ""
				}
			}
			sameGaps(t, got, st.want)
			gb, err := idx.Gaps(ctxT(t), "b", at(-time.Hour), at(time.Hour))
			ok(t, err, "gaps")
			sameGaps(t, gb, []index.Gap{other})
		})
	}
}
