package retention

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// endOfTime is later than any segment start.
func endOfTime() time.Time { return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) }

// deleted sums what one deletion removed.
type deleted struct {
	segments int
	bytes    int64
}

func (d *deleted) add(o deleted) {
	d.segments += o.segments
	d.bytes += o.bytes
}

// recover finishes rows left SegmentDeleting by a crash. Passes mark rows
// oldest first, at most a batch at a time, so such rows are among the
// first batch of all segments or of their camera's segments.
func (r *Retention) recover(ctx context.Context, cams []index.Camera) error {
	lists := []func() ([]index.Segment, error){func() ([]index.Segment, error) {
		return r.deps.Index.SegmentsBefore(ctx, endOfTime(), r.cfg.BatchSize)
	}}
	for _, c := range cams {
		lists = append(lists, func() ([]index.Segment, error) {
			return r.deps.Index.CameraSegmentsBefore(ctx, c.ID, endOfTime(), r.cfg.BatchSize)
		})
	}
	var total deleted
	for _, list := range lists {
		segs, err := list()
		if err != nil {
			return fmt.Errorf("recover deleting segments: %w", err)
		}
		gone, err := r.deleteSegments(ctx, pick(segs, deletingIDs(segs)))
		if err != nil {
			return fmt.Errorf("recover deleting segments: %w", err)
		}
		total.add(sum(gone))
	}
	if total.segments > 0 {
		r.log.Info("finished interrupted deletions", "segments", total.segments, "bytes", total.bytes)
	}
	return nil
}

// timeRetention deletes footage beyond its retention time: per known
// camera, then, for cameras no longer in the index, over all segments
// older than the default retention.
func (r *Retention) timeRetention(ctx context.Context, now time.Time, p Policy, cams []index.Camera) error {
	var total deleted
	for _, c := range cams {
		keep := p.Retention(c.ID)
		if keep <= 0 {
			continue
		}
		d, err := r.drain(ctx, func() ([]index.Segment, error) {
			return r.deps.Index.CameraSegmentsBefore(ctx, c.ID, now.Add(-keep), r.cfg.BatchSize)
		}, now, p)
		if err != nil {
			return fmt.Errorf("time retention of %s: %w", c.ID, err)
		}
		total.add(d)
	}
	if p.Default > 0 {
		d, err := r.drain(ctx, func() ([]index.Segment, error) {
			return r.deps.Index.SegmentsBefore(ctx, now.Add(-p.Default), r.cfg.BatchSize)
		}, now, p)
		if err != nil {
			return fmt.Errorf("time retention: %w", err)
		}
		total.add(d)
	}
	if total.segments > 0 {
		r.log.Info("deleted expired footage", "segments", total.segments, "bytes", total.bytes)
	}
	return nil
}

// drain repeatedly loads a batch, deletes what BeyondTime selects (plus
// rows already SegmentDeleting) and stops when a batch is short, frees
// nothing, or after MaxBatches.
func (r *Retention) drain(ctx context.Context, load func() ([]index.Segment, error), now time.Time, p Policy) (deleted, error) {
	var total deleted
	for range r.cfg.MaxBatches {
		segs, err := load()
		if err != nil {
			return total, err
		}
		ids := append(deletingIDs(segs), BeyondTime(segs, now, p.Retention)...)
		gone, err := r.deleteSegments(ctx, pick(segs, ids))
		d := sum(gone)
		total.add(d)
		if err != nil || d.segments == 0 || len(segs) < r.cfg.BatchSize {
			return total, err
		}
	}
	return total, nil
}

// expireGapsAndEvents deletes gaps older than their camera's retention and
// events older than the longest retention.
func (r *Retention) expireGapsAndEvents(ctx context.Context, now time.Time, p Policy, cams []index.Camera) error {
	for _, c := range cams {
		if keep := p.Retention(c.ID); keep > 0 {
			if err := r.deps.Index.DeleteGapsBefore(ctx, c.ID, now.Add(-keep)); err != nil {
				return fmt.Errorf("expire gaps of %s: %w", c.ID, err)
			}
		}
	}
	if !p.Finite() {
		return nil
	}
	// Gaps of cameras no longer in the index, and events.
	cut := now.Add(-p.Max())
	if err := r.deps.Index.DeleteGapsBefore(ctx, "", cut); err != nil {
		return fmt.Errorf("expire gaps: %w", err)
	}
	if err := r.deps.Index.DeleteEventsBefore(ctx, cut); err != nil {
		return fmt.Errorf("expire events: %w", err)
	}
	return nil
}

// deleteSegments removes segs crash-safely: mark the rows not yet
// SegmentDeleting, delete every blob, then delete the rows whose blob is
// gone, which it returns. A blob that cannot be deleted is counted and
// logged and its row stays SegmentDeleting for a later pass.
func (r *Retention) deleteSegments(ctx context.Context, segs []index.Segment) ([]index.Segment, error) {
	var mark []int64
	for _, s := range segs {
		if s.State != index.SegmentDeleting {
			mark = append(mark, s.ID)
		}
	}
	if len(mark) > 0 {
		if err := r.deps.Index.MarkDeleting(ctx, mark); err != nil {
			return nil, fmt.Errorf("mark deleting: %w", err)
		}
	}
	gone := r.deleteBlobs(ctx, segs)
	if len(gone) == 0 {
		return nil, nil
	}
	if err := r.deps.Index.DeleteSegments(ctx, idsOf(gone)); err != nil {
		return nil, fmt.Errorf("delete segment rows: %w", err)
	}
	d := sum(gone)
	r.segments.Add(uint64(d.segments))
	r.bytes.Add(uint64(max(d.bytes, 0)))
	return gone, nil
}

// deleteBlobs deletes the blobs of segs and returns the segments whose
// blob is gone.
func (r *Retention) deleteBlobs(ctx context.Context, segs []index.Segment) []index.Segment {
	var gone []index.Segment
	var firstErr error
	for _, s := range segs {
		if err := r.deps.Blobs.Delete(ctx, s.Path); err != nil {
			firstErr = cmpErr(firstErr, err)
			continue
		}
		gone = append(gone, s)
	}
	if failed := len(segs) - len(gone); failed > 0 {
		r.blobErrs.Add(uint64(failed))
		r.log.Warn("could not delete segment files; will retry", "failed", failed, "error", firstErr)
	}
	return gone
}

// sum totals segments and bytes.
func sum(segs []index.Segment) deleted {
	d := deleted{segments: len(segs)}
	for _, s := range segs {
		d.bytes += s.Bytes
	}
	return d
}

func idsOf(segs []index.Segment) []int64 {
	ids := make([]int64, len(segs))
	for i, s := range segs {
		ids[i] = s.ID
	}
	return ids
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// deletingIDs returns the ids of rows already SegmentDeleting.
func deletingIDs(segs []index.Segment) []int64 {
	var ids []int64
	for _, s := range segs {
		if s.State == index.SegmentDeleting {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// pick returns the segments of segs whose id is in ids, in segs' order.
func pick(segs []index.Segment, ids []int64) []index.Segment {
	want := make(map[int64]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var out []index.Segment
	for _, s := range segs {
		if want[s.ID] {
			out = append(out, s)
		}
	}
	return out
}

// storageEventData is the Data of a storage event.
type storageEventData struct {
	Reason          string  `json:"reason"`
	SegmentsDeleted int     `json:"segments_deleted"`
	BytesFreed      int64   `json:"bytes_freed"`
	UsedBytes       uint64  `json:"used_bytes"`
	TotalBytes      uint64  `json:"total_bytes"`
	HighWatermark   float64 `json:"high_watermark"`
}

// emitStorageEvent reports early deletion as one hub-wide storage event.
func (r *Retention) emitStorageEvent(ctx context.Context, now time.Time, data storageEventData) error {
	if r.deps.Events == nil {
		return nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("storage event: %w", err)
	}
	_, err = r.deps.Events.AddEvent(ctx, index.Event{Type: "storage", Start: now, Data: string(b)})
	if err != nil {
		return fmt.Errorf("storage event: %w", err)
	}
	return nil
}
