package indextest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// testConcurrency has writers (one per camera, like recorders) add and
// commit segments while readers query, then checks that nothing was lost.
// Run it with -race.
func testConcurrency(t *testing.T, open Opener) {
	idx := open(t)
	const cameras, segsPerCamera, commitsPerSeg, readers = 6, 4, 5, 3
	var wg sync.WaitGroup
	errs := make(chan error, cameras+readers)
	done := make(chan struct{})
	for c := range cameras {
		wg.Go(func() { errs <- recordCamera(t, idx, fmt.Sprintf("cam%d", c), segsPerCamera, commitsPerSeg) })
	}
	var rwg sync.WaitGroup
	for r := range readers {
		rwg.Go(func() { errs <- readUntil(t, idx, fmt.Sprintf("cam%d", r), done) })
	}
	wg.Wait()
	close(done)
	rwg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	checkRecorded(t, idx, cameras, segsPerCamera, commitsPerSeg)
}

// recordCamera plays a recorder: open a segment, commit fragments, close.
func recordCamera(t *testing.T, idx index.Index, camera string, segs, commits int) error {
	for s := range segs {
		start := time.Duration(s) * time.Minute
		id, err := idx.AddSegment(ctxT(t), openSeg(camera, start))
		if err != nil {
			return err
		}
		for c := range commits {
			up := index.SegmentUpdate{
				ID: id, End: at(start + time.Duration(c+1)*time.Second), Bytes: int64(100 + (c+1)*1000),
				Fragments: frags(1, int64(100+c*1000), time.Duration(c)*time.Second),
				Close:     c == commits-1,
			}
			if err := idx.CommitSegments(ctxT(t), []index.SegmentUpdate{up}); err != nil {
				return err
			}
		}
		if _, err := idx.AddEvent(ctxT(t), index.Event{Camera: camera, Type: "motion", Start: at(start)}); err != nil {
			return err
		}
	}
	return nil
}

// readUntil queries the index in a loop until done is closed.
func readUntil(t *testing.T, idx index.Index, camera string, done <-chan struct{}) error {
	for {
		select {
		case <-done:
			return nil
		default:
		}
		segs, err := idx.Segments(ctxT(t), camera, at(-time.Hour), at(time.Hour))
		if err != nil {
			return err
		}
		for _, s := range segs {
			if len(s.Fragments) > 0 && s.End.Before(s.Start.Add(s.Fragments[len(s.Fragments)-1].Start)) {
				return fmt.Errorf("segment %d: torn read %s", s.ID, segString(s))
			}
		}
		if _, err := idx.TotalBytes(ctxT(t)); err != nil {
			return err
		}
		if _, err := idx.ListEvents(ctxT(t), index.EventFilter{Camera: camera, Limit: 5}); err != nil {
			return err
		}
	}
}

func checkRecorded(t *testing.T, idx index.Index, cameras, segs, commits int) {
	t.Helper()
	var total int64
	for c := range cameras {
		got, err := idx.Segments(ctxT(t), fmt.Sprintf("cam%d", c), at(-time.Hour), at(time.Hour))
		ok(t, err, "segments")
		if len(got) != segs {
			t.Fatalf("cam%d: %d segments, want %d", c, len(got), segs)
		}
		for _, s := range got {
			if s.State != index.SegmentClosed || len(s.Fragments) != commits {
				t.Errorf("segment %s: want closed with %d fragments", segString(s), commits)
			}
			for i, f := range s.Fragments {
				if f.Offset != int64(100+i*1000) {
					t.Errorf("segment %d fragment %d offset %d", s.ID, i, f.Offset)
				}
			}
			total += s.Bytes
		}
	}
	got, err := idx.TotalBytes(ctxT(t))
	ok(t, err, "total bytes")
	if got != total {
		t.Errorf("total bytes = %d, want %d", got, total)
	}
	page, err := idx.ListEvents(ctxT(t), index.EventFilter{Limit: 1000})
	ok(t, err, "list events")
	if len(page.Events) != cameras*segs {
		t.Errorf("%d events, want %d", len(page.Events), cameras*segs)
	}
}
