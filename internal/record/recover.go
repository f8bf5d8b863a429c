package record

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/vigil-video/vigil/internal/blob"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/segment"
)

// QuarantinePrefix is where unreadable segment files are moved at start-up.
const QuarantinePrefix = "quarantine/"

// RecoverIndex is what start-up recovery needs from the index.
type RecoverIndex interface {
	AddSegment(ctx context.Context, s index.Segment) (int64, error)
	GetSegment(ctx context.Context, id int64) (index.Segment, error)
	OpenSegments(ctx context.Context) ([]index.Segment, error)
	ReplaceSegment(ctx context.Context, s index.Segment) error
	AllSegmentPaths(ctx context.Context) (map[string]int64, error)
	DeleteSegments(ctx context.Context, ids []int64) error
	AddGap(ctx context.Context, g index.Gap) (int64, error)
}

// RecoverStore is what recovery needs from the blob store.
type RecoverStore interface {
	Open(ctx context.Context, key string) (blob.ReadAtCloser, error)
	Truncate(ctx context.Context, key string, size int64) error
	List(ctx context.Context, fn func(key string, size int64) error) error
	Delete(ctx context.Context, key string) error
}

// Quarantiner moves a blob aside (blob/fs implements it).
type Quarantiner interface {
	Rename(ctx context.Context, from, to string) error
}

// RecoverReport says what start-up recovery did.
type RecoverReport struct {
	Repaired       int   // open or damaged segments cut back to their last complete fragment
	TruncatedBytes int64 // bytes of torn tails removed
	Reindexed      int   // files on disk that the index did not know, now indexed
	Missing        int   // index rows whose file was gone, removed (recorded as gaps)
	Quarantined    int   // unreadable files moved to quarantine/
	Empty          int   // files holding an init block and no fragment (no footage), removed
}

// Recover reconciles the index with the files at start-up, before any
// recording starts: open segments (a crash or kill while recording) are cut
// back to their last complete fragment and closed; files whose size differs
// from the index are rescanned; files the index does not know are indexed
// from their name and content; rows whose file is gone are removed and
// recorded as gaps; files that cannot be read at all are quarantined. After
// it, every indexed file plays and the index matches the files.
func Recover(ctx context.Context, idx RecoverIndex, store RecoverStore, log *slog.Logger) (RecoverReport, error) {
	rc := &recovery{idx: idx, store: store, log: log}
	if err := rc.run(ctx); err != nil {
		return rc.rep, fmt.Errorf("recover recordings: %w", err)
	}
	return rc.rep, nil
}

type recovery struct {
	idx   RecoverIndex
	store RecoverStore
	log   *slog.Logger
	rep   RecoverReport
}

func (rc *recovery) run(ctx context.Context) error {
	sizes := map[string]int64{}
	err := rc.store.List(ctx, func(key string, size int64) error {
		if !strings.HasPrefix(key, QuarantinePrefix) && strings.HasSuffix(key, ".mp4") {
			sizes[key] = size
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list segment files: %w", err)
	}
	paths, err := rc.idx.AllSegmentPaths(ctx)
	if err != nil {
		return fmt.Errorf("list indexed segments: %w", err)
	}
	open, err := rc.idx.OpenSegments(ctx)
	if err != nil {
		return fmt.Errorf("list open segments: %w", err)
	}
	done := map[int64]bool{}
	for _, s := range open {
		done[s.ID] = true
		if err := rc.repair(ctx, s, sizes); err != nil {
			return err
		}
	}
	for path, id := range paths {
		if done[id] {
			continue
		}
		if err := rc.checkClosed(ctx, path, id, sizes); err != nil {
			return err
		}
	}
	for key, size := range sizes {
		if _, ok := paths[key]; !ok {
			if err := rc.reindex(ctx, key, size); err != nil {
				return err
			}
		}
	}
	return nil
}

func (rc *recovery) checkClosed(ctx context.Context, path string, id int64, sizes map[string]int64) error {
	size, ok := sizes[path]
	if ok {
		s, err := rc.idx.GetSegment(ctx, id)
		if err != nil {
			return fmt.Errorf("get segment %d: %w", id, err)
		}
		if s.State != index.SegmentClosed || s.Bytes == size {
			return nil
		}
		rc.log.Warn("segment file size differs from the index; rescanning", "segment", path, "indexed", s.Bytes, "on_disk", size)
		return rc.repair(ctx, s, sizes)
	}
	s, err := rc.idx.GetSegment(ctx, id)
	if err != nil {
		return fmt.Errorf("get segment %d: %w", id, err)
	}
	if s.State == index.SegmentDeleting {
		return nil // retention finishes it
	}
	return rc.dropMissing(ctx, s)
}

func (rc *recovery) dropMissing(ctx context.Context, s index.Segment) error {
	rc.log.Warn("segment file is missing; removing it from the index", "segment", s.Path)
	if err := rc.idx.DeleteSegments(ctx, []int64{s.ID}); err != nil {
		return fmt.Errorf("delete segment row: %w", err)
	}
	rc.rep.Missing++
	return rc.gap(ctx, s, "missing_file")
}

func (rc *recovery) gap(ctx context.Context, s index.Segment, reason string) error {
	end := s.End
	if !end.After(s.Start) {
		return nil
	}
	_, err := rc.idx.AddGap(ctx, index.Gap{Camera: s.Camera, Start: s.Start, End: end, State: index.GapLost, Reason: reason})
	if err != nil {
		return fmt.Errorf("record gap: %w", err)
	}
	return nil
}

// repair rescans a segment's file, cuts a torn tail and rewrites its row.
func (rc *recovery) repair(ctx context.Context, s index.Segment, sizes map[string]int64) error {
	size, ok := sizes[s.Path]
	if !ok {
		return rc.dropMissing(ctx, s)
	}
	res, err := rc.scan(ctx, s.Path, size)
	if err == nil && len(res.Fragments) == 0 {
		// opened just before the stop: no footage was lost
		if err := rc.removeEmpty(ctx, s.Path); err != nil {
			return err
		}
		if err := rc.idx.DeleteSegments(ctx, []int64{s.ID}); err != nil {
			return fmt.Errorf("delete segment row: %w", err)
		}
		return nil
	}
	if errors.Is(err, segment.ErrNotSegment) {
		if qerr := rc.quarantine(ctx, s.Path, err); qerr != nil {
			return qerr
		}
		if err := rc.idx.DeleteSegments(ctx, []int64{s.ID}); err != nil {
			return fmt.Errorf("delete segment row: %w", err)
		}
		return rc.gap(ctx, s, "corrupt_file")
	}
	if err != nil {
		return err
	}
	if err := rc.cut(ctx, s.Path, size, res); err != nil {
		return err
	}
	fill(&s, res)
	if err := rc.idx.ReplaceSegment(ctx, s); err != nil {
		return fmt.Errorf("rewrite segment row: %w", err)
	}
	rc.rep.Repaired++
	rc.log.Info("recovered segment", "segment", s.Path, "fragments", len(s.Fragments), "bytes", s.Bytes)
	return nil
}

func (rc *recovery) cut(ctx context.Context, key string, size int64, res *segment.ScanResult) error {
	if res.ValidSize >= size {
		return nil
	}
	if err := rc.store.Truncate(ctx, key, res.ValidSize); err != nil {
		return fmt.Errorf("cut torn tail of %s: %w", key, err)
	}
	rc.rep.TruncatedBytes += size - res.ValidSize
	rc.log.Info("cut torn tail of segment", "segment", key, "bytes", size-res.ValidSize, "reason", res.Tail)
	return nil
}

func fill(s *index.Segment, res *segment.ScanResult) {
	ts := res.Timescale()
	s.Fragments = s.Fragments[:0]
	for _, f := range res.Fragments {
		s.Fragments = append(s.Fragments, index.Fragment{Offset: f.Offset, Start: segment.Ticks(f.BaseTime, ts), Key: f.Key})
	}
	last := res.Fragments[len(res.Fragments)-1]
	s.End = s.Start.Add(segment.Ticks(last.BaseTime+last.Duration, ts))
	s.Bytes = res.ValidSize
	s.InitSize = res.InitSize
	s.State = index.SegmentClosed
}

func (rc *recovery) scan(ctx context.Context, key string, size int64) (*segment.ScanResult, error) {
	f, err := rc.store.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("open segment for recovery: %w", err)
	}
	defer f.Close()
	return segment.Scan(f, size)
}

// reindex adds a file the index does not know (e.g. a crash between
// creating the file and indexing it).
func (rc *recovery) reindex(ctx context.Context, key string, size int64) error {
	camera, start, err := segment.ParseKey(key)
	if err != nil {
		return rc.quarantine(ctx, key, err)
	}
	res, err := rc.scan(ctx, key, size)
	if err == nil && len(res.Fragments) == 0 {
		// created just before the stop, before its first group commit
		return rc.removeEmpty(ctx, key)
	}
	if err != nil {
		return rc.quarantine(ctx, key, err)
	}
	if err := rc.cut(ctx, key, size, res); err != nil {
		return err
	}
	s := index.Segment{Camera: camera, Start: start, Path: key}
	fill(&s, res)
	id, err := rc.idx.AddSegment(ctx, s)
	if err != nil {
		return fmt.Errorf("index orphan segment %s: %w", key, err)
	}
	s.ID = id
	if err := rc.idx.ReplaceSegment(ctx, s); err != nil {
		return fmt.Errorf("index orphan segment %s: %w", key, err)
	}
	rc.rep.Reindexed++
	rc.log.Info("indexed segment found on disk", "segment", key, "fragments", len(s.Fragments))
	return nil
}

// removeEmpty deletes a segment file that holds no footage: a complete
// init block and no complete fragment.
func (rc *recovery) removeEmpty(ctx context.Context, key string) error {
	if err := rc.store.Delete(ctx, key); err != nil {
		return fmt.Errorf("remove empty segment %s: %w", key, err)
	}
	rc.rep.Empty++
	rc.log.Info("removed a segment file that holds no footage", "segment", key)
	return nil
}

func (rc *recovery) quarantine(ctx context.Context, key string, why error) error {
	if why == nil {
		why = errors.New("no complete fragment")
	}
	rc.log.Error("segment file is unreadable; moved to quarantine", "segment", key, "err", why)
	rc.rep.Quarantined++
	q, ok := rc.store.(Quarantiner)
	if !ok {
		return nil
	}
	if err := q.Rename(ctx, key, QuarantinePrefix+key); err != nil {
		return fmt.Errorf("quarantine %s: %w", key, err)
	}
	return nil
}
