package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// BenchmarkCommitSegments400 is one recorder commit for a 400-camera hub:
// one CommitSegments call with one update per camera, each appending one
// fragment. Segments are rotated every 60 commits like one-minute files.
func BenchmarkCommitSegments400(b *testing.B) {
	const cameras, perSegment = 400, 60
	s := openTest(b)
	defer s.Close()
	ctx := b.Context()
	ups := make([]index.SegmentUpdate, cameras)
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	rotate := func(n int) {
		for c := range ups {
			seg := index.Segment{Camera: fmt.Sprintf("cam%03d", c), Start: t0, End: t0,
				Path: fmt.Sprintf("cam%03d/%d.mp4", c, n), State: index.SegmentOpen, InitSize: 800}
			id, err := s.AddSegment(ctx, seg)
			if err != nil {
				b.Fatal(err)
			}
			ups[c] = index.SegmentUpdate{ID: id}
		}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := i % perSegment
		if k == 0 {
			b.StopTimer()
			rotate(i)
			b.StartTimer()
		}
		for c := range ups {
			off := 800 + int64(k)*250_000
			ups[c].End = t0.Add(time.Duration(k+1) * time.Second)
			ups[c].Bytes = off + 250_000
			ups[c].Fragments = []index.Fragment{{Offset: off, Start: time.Duration(k) * time.Second, Key: true}}
			ups[c].Close = k == perSegment-1
		}
		if err := s.CommitSegments(ctx, ups); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSegments1h queries a one-hour window in the middle of a camera
// that recorded 24 hours of one-minute segments of 60 fragments, next to
// 49 other cameras with the same history.
func BenchmarkSegments1h(b *testing.B) {
	const cameras = 50
	s := openTest(b)
	defer s.Close()
	ctx := b.Context()
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for c := range cameras {
		if err := fill24h(ctx, s.write, fmt.Sprintf("cam%02d", c), t0); err != nil {
			b.Fatal(err)
		}
	}
	from := t0.Add(12 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		segs, err := s.Segments(ctx, "cam07", from, from.Add(time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		if len(segs) != 60 || len(segs[0].Fragments) != 60 {
			b.Fatalf("got %d segments", len(segs))
		}
	}
}

// fill24h inserts 1440 closed one-minute segments of camera in one
// transaction (faster than AddSegment, which commits each).
func fill24h(ctx context.Context, db *sql.DB, camera string, t0 time.Time) error {
	frs := make([]index.Fragment, 60)
	for i := range frs {
		frs[i] = index.Fragment{Offset: 800 + int64(i)*250_000, Start: time.Duration(i) * time.Second, Key: true}
	}
	blob, err := encodeFragments(frs)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	for m := range 1440 {
		start := t0.Add(time.Duration(m) * time.Minute)
		_, err := tx.ExecContext(ctx, `INSERT INTO segments
			(camera, start_us, end_us, bytes, path, state, init_size, codecs, fragments)
			VALUES (?, ?, ?, ?, ?, 2, 800, 'h264', ?)`,
			camera, micros(start), micros(start.Add(time.Minute)), 15_000_800,
			fmt.Sprintf("%s/%d.mp4", camera, m), blob)
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}
