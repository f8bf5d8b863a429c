package indextest

import (
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

func testSegmentAddGet(t *testing.T, open Opener) {
	tests := []struct {
		name string
		seg  index.Segment
		err  error
	}{
		{"OpenNoFragments", index.Segment{Camera: "cam1", Start: at(0), End: at(0), Path: "cam1/a.mp4",
			State: index.SegmentOpen, InitSize: 700, Codecs: "h264,aac"}, nil},
		{"ClosedWithFragments", index.Segment{Camera: "cam1", Start: at(time.Hour), End: at(time.Hour + time.Minute),
			Bytes: 123456, Path: "cam1/b.mp4", State: index.SegmentClosed, InitSize: 700, Codecs: "h265",
			Fragments: frags(60, 700, 0)}, nil},
		{"MicrosecondFragments", index.Segment{Camera: "cam1", Start: at(time.Microsecond), End: at(2 * time.Second),
			Bytes: 10, Path: "cam1/c.mp4", State: index.SegmentOpen,
			Fragments: []index.Fragment{{Offset: 1, Start: 0, Key: true}, {Offset: 5, Start: 1500 * time.Microsecond},
				{Offset: 5 << 40, Start: 48 * time.Hour, Key: true}}}, nil},
		{"Imported", index.Segment{Camera: "cam1", Start: at(2 * time.Hour), End: at(2*time.Hour + 3*time.Second),
			Bytes: 3700, Path: "cam1/d.mp4", State: index.SegmentOpen, InitSize: 700, Codecs: "h264",
			Fragments: frags(3, 700, 0), Origin: "spool-1", FirstSeq: 41}, nil},
		{"ImportedWithoutSeq", index.Segment{Camera: "cam1", Path: "cam1/e.mp4", State: index.SegmentOpen,
			Origin: "spool-1"}, index.ErrInvalid},
		{"EmptyCamera", index.Segment{Path: "x.mp4", State: index.SegmentOpen}, index.ErrInvalid},
		{"EmptyPath", index.Segment{Camera: "cam1", State: index.SegmentOpen}, index.ErrInvalid},
	}
	idx := open(t)
	seen := map[int64]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := idx.AddSegment(ctxT(t), tt.seg)
			if tt.err != nil {
				isErr(t, err, tt.err, "add segment")
				return
			}
			ok(t, err, "add segment")
			if seen[id] {
				t.Fatalf("id %d returned twice", id)
			}
			seen[id] = true
			got, err := idx.GetSegment(ctxT(t), id)
			ok(t, err, "get segment")
			tt.seg.ID = id
			sameSegment(t, got, tt.seg)
		})
	}
	t.Run("GetMissing", func(t *testing.T) {
		_, err := idx.GetSegment(ctxT(t), 987654)
		isErr(t, err, index.ErrNotFound, "get missing segment")
	})
	t.Run("DuplicatePath", func(t *testing.T) {
		_, err := idx.AddSegment(ctxT(t), index.Segment{Camera: "cam2", Path: "cam1/a.mp4", State: index.SegmentOpen})
		isErr(t, err, index.ErrConflict, "add segment with a used path")
	})
	t.Run("Batch", func(t *testing.T) { segmentAddBatch(t, open(t)) })
}

// segmentAddBatch checks AddSegments: ids in order, rows as given, and a
// batch with one bad segment inserts nothing.
func segmentAddBatch(t *testing.T, idx index.Index) {
	ids, err := idx.AddSegments(ctxT(t), nil)
	ok(t, err, "add no segments")
	if len(ids) != 0 {
		t.Fatalf("add no segments: ids %v", ids)
	}
	batch := []index.Segment{
		{Camera: "cam1", Start: at(0), End: at(0), Bytes: 4096, Path: "cam1/a.mp4", InitSize: 4096, Codecs: "h264"},
		{Camera: "cam2", Start: at(time.Second), End: at(3 * time.Second), Bytes: 9000, Path: "cam2/a.mp4",
			State: index.SegmentOpen, InitSize: 700, Codecs: "h265", Fragments: frags(2, 700, 0)},
		{Camera: "cam3", Start: at(time.Minute), End: at(time.Minute + time.Second), Bytes: 5000, Path: "cam3/a.mp4",
			State: index.SegmentClosed, InitSize: 700, Codecs: "h264", Fragments: frags(1, 700, 0)},
	}
	ids, err = idx.AddSegments(ctxT(t), batch)
	ok(t, err, "add segments")
	if len(ids) != len(batch) {
		t.Fatalf("add segments: %d ids for %d segments", len(ids), len(batch))
	}
	seen := map[int64]bool{}
	for i, id := range ids {
		if seen[id] {
			t.Fatalf("id %d returned twice", id)
		}
		seen[id] = true
		got, err := idx.GetSegment(ctxT(t), id)
		ok(t, err, "get segment")
		want := batch[i]
		want.ID = id
		if want.State == 0 {
			want.State = index.SegmentOpen
		}
		sameSegment(t, got, want)
	}
	bad := []struct {
		name string
		segs []index.Segment
		err  error
	}{
		{"UsedPath", []index.Segment{{Camera: "cam4", Path: "cam4/new.mp4"}, {Camera: "cam4", Path: "cam2/a.mp4"}}, index.ErrConflict},
		{"PathTwice", []index.Segment{{Camera: "cam4", Path: "cam4/new.mp4"}, {Camera: "cam4", Path: "cam4/new.mp4"}}, index.ErrConflict},
		{"Invalid", []index.Segment{{Camera: "cam4", Path: "cam4/new.mp4"}, {Path: "cam4/other.mp4"}}, index.ErrInvalid},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			ids, err := idx.AddSegments(ctxT(t), tt.segs)
			isErr(t, err, tt.err, "add a bad batch")
			if ids != nil {
				t.Fatalf("bad batch returned ids %v", ids)
			}
			paths, err := idx.AllSegmentPaths(ctxT(t))
			ok(t, err, "all segment paths")
			if len(paths) != len(batch) {
				t.Fatalf("a failed batch left rows: %v", paths)
			}
		})
	}
}

func testSegmentCommit(t *testing.T, open Opener) {
	tests := []struct {
		name string
		run  func(t *testing.T, idx index.Index)
	}{
		{"AppendAndClose", commitAppendAndClose},
		{"Empty", func(t *testing.T, idx index.Index) {
			ok(t, idx.CommitSegments(ctxT(t), nil), "commit nothing")
		}},
		{"UnknownIDIsAtomic", func(t *testing.T, idx index.Index) {
			s := addSeg(t, idx, openSeg("cam1", 0))
			err := idx.CommitSegments(ctxT(t), []index.SegmentUpdate{
				{ID: s.ID, End: at(time.Second), Bytes: 2000, Fragments: frags(1, 100, 0)},
				{ID: s.ID + 1000, End: at(time.Second), Bytes: 1},
			})
			isErr(t, err, index.ErrNotFound, "commit unknown id")
			got, err := idx.GetSegment(ctxT(t), s.ID)
			ok(t, err, "get segment")
			sameSegment(t, got, s)
		}},
		{"ClosedIsConflict", func(t *testing.T, idx index.Index) {
			s := addSeg(t, idx, openSeg("cam1", 0))
			ok(t, idx.CommitSegments(ctxT(t), []index.SegmentUpdate{{ID: s.ID, End: at(time.Second), Close: true}}), "close")
			err := idx.CommitSegments(ctxT(t), []index.SegmentUpdate{{ID: s.ID, End: at(2 * time.Second)}})
			isErr(t, err, index.ErrConflict, "commit to a closed segment")
		}},
		{"DeletingIsConflict", func(t *testing.T, idx index.Index) {
			s := addSeg(t, idx, openSeg("cam1", 0))
			ok(t, idx.MarkDeleting(ctxT(t), []int64{s.ID}), "mark deleting")
			err := idx.CommitSegments(ctxT(t), []index.SegmentUpdate{{ID: s.ID, End: at(2 * time.Second)}})
			isErr(t, err, index.ErrConflict, "commit to a deleting segment")
		}},
		{"ManyInOneCall", commitMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, open(t))
		})
	}
}

// openSeg is an empty open segment of camera starting at start.
func openSeg(camera string, start time.Duration) index.Segment {
	s := newSeg(camera, start, start)
	s.State, s.Bytes = index.SegmentOpen, 100
	return s
}

func commitAppendAndClose(t *testing.T, idx index.Index) {
	s := addSeg(t, idx, openSeg("cam1", 0))
	all := frags(6, 100, 0)
	steps := []index.SegmentUpdate{
		{End: at(2 * time.Second), Bytes: 2100, Fragments: all[:2]},
		{End: at(3 * time.Second), Bytes: 3100, Fragments: all[2:3]},
		{End: at(3 * time.Second), Bytes: 3100},
		{End: at(6 * time.Second), Bytes: 6100, Fragments: all[3:], Close: true},
	}
	want := s
	for i, up := range steps {
		up.ID = s.ID
		ok(t, idx.CommitSegments(ctxT(t), []index.SegmentUpdate{up}), "commit")
		want.End, want.Bytes = up.End, up.Bytes
		want.Fragments = append(want.Fragments, up.Fragments...)
		if up.Close {
			want.State = index.SegmentClosed
		}
		got, err := idx.GetSegment(ctxT(t), s.ID)
		ok(t, err, "get segment")
		t.Logf("step %d", i)
		sameSegment(t, got, want)
	}
}

func commitMany(t *testing.T, idx index.Index) {
	var ups []index.SegmentUpdate
	var want []index.Segment
	for i := range 50 {
		s := addSeg(t, idx, openSeg("cam"+string(rune('A'+i%26))+string(rune('a'+i/26)), 0))
		up := index.SegmentUpdate{ID: s.ID, End: at(time.Second), Bytes: 1100, Fragments: frags(1, 100, 0), Close: i%2 == 0}
		ups = append(ups, up)
		s.End, s.Bytes, s.Fragments = up.End, up.Bytes, up.Fragments
		if up.Close {
			s.State = index.SegmentClosed
		}
		want = append(want, s)
	}
	ok(t, idx.CommitSegments(ctxT(t), ups), "commit 50")
	for _, w := range want {
		got, err := idx.GetSegment(ctxT(t), w.ID)
		ok(t, err, "get segment")
		sameSegment(t, got, w)
	}
}

func testSegmentReplace(t *testing.T, open Opener) {
	idx := open(t)
	s := newSeg("cam1", 0, time.Minute)
	s.State, s.Fragments = index.SegmentOpen, frags(10, 500, 0)
	s = addSeg(t, idx, s)
	tests := []struct {
		name  string
		apply func(s index.Segment) index.Segment
	}{
		{"TruncateAndClose", func(s index.Segment) index.Segment {
			s.End, s.Bytes, s.State, s.Fragments = at(4*time.Second), 4500, index.SegmentClosed, s.Fragments[:4]
			return s
		}},
		{"NoFragments", func(s index.Segment) index.Segment {
			s.End, s.Bytes, s.Fragments = at(0), 500, nil
			return s
		}},
		{"Reopen", func(s index.Segment) index.Segment {
			s.State, s.Fragments = index.SegmentOpen, frags(3, 500, time.Second)
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.apply(s)
			ok(t, idx.ReplaceSegment(ctxT(t), want), "replace segment")
			got, err := idx.GetSegment(ctxT(t), s.ID)
			ok(t, err, "get segment")
			sameSegment(t, got, want)
			s = got
		})
	}
	t.Run("Missing", func(t *testing.T) {
		missing := s
		missing.ID += 1000
		isErr(t, idx.ReplaceSegment(ctxT(t), missing), index.ErrNotFound, "replace missing segment")
	})
}

func testSegmentsRange(t *testing.T, open Opener) {
	idx := open(t)
	m := time.Minute
	a1 := addSeg(t, idx, newSeg("a", 0, m))
	a2 := addSeg(t, idx, newSeg("a", m, 2*m))
	a3 := newSeg("a", 2*m, 3*m)
	a3.Fragments = frags(60, 100, 0) // Segments returns fragments
	a3 = addSeg(t, idx, a3)
	addSeg(t, idx, newSeg("b", 0, 10*m))
	long := addSeg(t, idx, newSeg("c", 0, 5*time.Hour))
	c2 := addSeg(t, idx, newSeg("c", 5*time.Hour, 5*time.Hour+m))
	tests := []struct {
		name     string
		camera   string
		from, to time.Duration
		want     []index.Segment
	}{
		{"All", "a", -time.Hour, time.Hour, []index.Segment{a1, a2, a3}},
		{"ExactlyOne", "a", m, 2 * m, []index.Segment{a2}},
		{"StraddleBoundary", "a", m - time.Second, m + time.Second, []index.Segment{a1, a2}},
		{"EndIsExclusive", "a", 3 * m, 4 * m, nil},
		{"ToIsExclusive", "a", -m, 0, nil},
		{"EmptyWindow", "a", 30 * time.Second, 30 * time.Second, nil},
		{"OtherCamera", "zzz", -time.Hour, time.Hour, nil},
		{"InsideLongSegment", "c", 3 * time.Hour, 3*time.Hour + m, []index.Segment{long}},
		{"LongAndNext", "c", 5*time.Hour - time.Second, 5*time.Hour + time.Second, []index.Segment{long, c2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := idx.Segments(ctxT(t), tt.camera, at(tt.from), at(tt.to))
			ok(t, err, "segments")
			sameSegments(t, got, tt.want)
		})
	}
}

func testSegmentsBefore(t *testing.T, open Opener) {
	idx := open(t)
	m := time.Minute
	// Added out of order, so ids do not follow starts.
	b2 := addSeg(t, idx, newSeg("b", 2*m, 3*m))
	a1 := newSeg("a", m, 2*m)
	a1.Fragments = frags(5, 100, 0)
	a1 = addSeg(t, idx, a1)
	a1.Fragments = nil // SegmentsBefore returns no fragments
	a0 := addSeg(t, idx, newSeg("a", 0, m))
	b1 := addSeg(t, idx, newSeg("b", m+time.Second, 2*m))
	a2 := openSeg("a", 2*m)
	a2 = addSeg(t, idx, a2)
	ok(t, idx.MarkDeleting(ctxT(t), []int64{a0.ID}), "mark deleting")
	a0.State = index.SegmentDeleting
	tests := []struct {
		name   string
		camera string // "" uses SegmentsBefore
		before time.Duration
		limit  int
		want   []index.Segment
	}{
		{"AllOldestFirst", "", time.Hour, 100, []index.Segment{a0, a1, b1, b2, a2}},
		{"Limit", "", time.Hour, 2, []index.Segment{a0, a1}},
		{"StartIsExclusive", "", m, 100, []index.Segment{a0}},
		{"NoneBefore", "", 0, 100, nil},
		{"Camera", "b", time.Hour, 100, []index.Segment{b1, b2}},
		{"CameraLimit", "a", time.Hour, 1, []index.Segment{a0}},
		{"CameraBefore", "a", 2 * m, 100, []index.Segment{a0, a1}},
		{"UnknownCamera", "zzz", time.Hour, 100, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []index.Segment
			var err error
			if tt.camera == "" {
				got, err = idx.SegmentsBefore(ctxT(t), at(tt.before), tt.limit)
			} else {
				got, err = idx.CameraSegmentsBefore(ctxT(t), tt.camera, at(tt.before), tt.limit)
			}
			ok(t, err, "segments before")
			sameSegments(t, got, tt.want)
		})
	}
}

func testSegmentDelete(t *testing.T, open Opener) {
	idx := open(t)
	m := time.Minute
	s1 := addSeg(t, idx, newSeg("a", 0, m))
	s2 := addSeg(t, idx, newSeg("a", m, 2*m))
	s3 := addSeg(t, idx, openSeg("a", 2*m))
	ok(t, idx.MarkDeleting(ctxT(t), []int64{s1.ID, s3.ID, 424242}), "mark deleting")
	t.Run("HiddenFromSegments", func(t *testing.T) {
		got, err := idx.Segments(ctxT(t), "a", at(-time.Hour), at(time.Hour))
		ok(t, err, "segments")
		sameSegments(t, got, []index.Segment{s2})
	})
	t.Run("HiddenFromOpenSegments", func(t *testing.T) {
		got, err := idx.OpenSegments(ctxT(t))
		ok(t, err, "open segments")
		sameSegments(t, got, nil)
	})
	t.Run("GetShowsState", func(t *testing.T) {
		got, err := idx.GetSegment(ctxT(t), s1.ID)
		ok(t, err, "get segment")
		if got.State != index.SegmentDeleting {
			t.Errorf("state = %d, want SegmentDeleting", got.State)
		}
	})
	t.Run("PathsIncludeDeleting", func(t *testing.T) {
		paths, err := idx.AllSegmentPaths(ctxT(t))
		ok(t, err, "all segment paths")
		want := map[string]int64{s1.Path: s1.ID, s2.Path: s2.ID, s3.Path: s3.ID}
		if len(paths) != len(want) {
			t.Errorf("paths = %v, want %v", paths, want)
		}
		for p, id := range want {
			if paths[p] != id {
				t.Errorf("paths[%s] = %d, want %d", p, paths[p], id)
			}
		}
	})
	t.Run("Delete", func(t *testing.T) {
		ok(t, idx.DeleteSegments(ctxT(t), []int64{s1.ID, s3.ID, 424242}), "delete segments")
		for _, id := range []int64{s1.ID, s3.ID} {
			_, err := idx.GetSegment(ctxT(t), id)
			isErr(t, err, index.ErrNotFound, "get deleted segment")
		}
		ok(t, idx.DeleteSegments(ctxT(t), []int64{s1.ID}), "delete again")
		ok(t, idx.DeleteSegments(ctxT(t), nil), "delete nothing")
		ok(t, idx.MarkDeleting(ctxT(t), nil), "mark nothing")
		paths, err := idx.AllSegmentPaths(ctxT(t))
		ok(t, err, "all segment paths")
		if len(paths) != 1 || paths[s2.Path] != s2.ID {
			t.Errorf("paths after delete = %v", paths)
		}
	})
}

func testOpenSegments(t *testing.T, open Opener) {
	idx := open(t)
	s1 := openSeg("a", 0)
	s1.Fragments = frags(3, 100, 0)
	s1 = addSeg(t, idx, s1)
	addSeg(t, idx, newSeg("a", -time.Minute, 0))
	s2 := addSeg(t, idx, openSeg("b", 0))
	got, err := idx.OpenSegments(ctxT(t))
	ok(t, err, "open segments")
	sameSegments(t, got, []index.Segment{s1, s2})
}

func testTotalBytes(t *testing.T, open Opener) {
	idx := open(t)
	var s1, s2 index.Segment
	steps := []struct {
		name string
		do   func(t *testing.T) error
		want int64
	}{
		{"Empty", func(*testing.T) error { return nil }, 0},
		{"Add", func(t *testing.T) error {
			s1 = addSeg(t, idx, openSeg("a", 0)) // 100 bytes
			s2 = addSeg(t, idx, newSeg("b", 0, time.Minute))
			return nil
		}, 1100},
		{"Commit", func(t *testing.T) error {
			return idx.CommitSegments(ctxT(t), []index.SegmentUpdate{{ID: s1.ID, End: at(time.Second), Bytes: 5000}})
		}, 6000},
		{"Replace", func(t *testing.T) error {
			s2.Bytes = 400
			return idx.ReplaceSegment(ctxT(t), s2)
		}, 5400},
		{"MarkDeletingStillCounts", func(t *testing.T) error {
			return idx.MarkDeleting(ctxT(t), []int64{s1.ID})
		}, 5400},
		{"Delete", func(t *testing.T) error {
			return idx.DeleteSegments(ctxT(t), []int64{s1.ID})
		}, 400},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			ok(t, st.do(t), st.name)
			got, err := idx.TotalBytes(ctxT(t))
			ok(t, err, "total bytes")
			if got != st.want {
				t.Errorf("total bytes = %d, want %d", got, st.want)
			}
		})
	}
}
