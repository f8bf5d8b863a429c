package retention

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// usage returns used and total bytes: the index total against MaxBytes
// when a quota is set, else the DiskUsage figures. ok is false when disk
// pressure is not measured at all.
func (r *Retention) usage(ctx context.Context) (used, total uint64, ok bool, err error) {
	if r.cfg.MaxBytes > 0 {
		n, err := r.deps.Index.TotalBytes(ctx)
		if err != nil {
			return 0, 0, false, fmt.Errorf("total bytes: %w", err)
		}
		return uint64(max(n, 0)), r.cfg.MaxBytes, true, nil
	}
	if r.deps.DiskUsage == nil {
		return 0, 0, false, nil
	}
	used, total, err = r.deps.DiskUsage()
	if err != nil {
		return 0, 0, false, fmt.Errorf("disk usage: %w", err)
	}
	return used, total, true, nil
}

// diskRetention deletes the oldest closed footage, across cameras, while
// usage is above the high watermark, until it is below the low one (or
// MaxBatches batches). Segments that were still within their retention
// time are early deletions: they are counted and reported in one storage
// event for the pass.
func (r *Retention) diskRetention(ctx context.Context, now time.Time, p Policy) error {
	high := r.cfg.HighWatermark
	var total, early deleted
	var used, size uint64
	var headroom uint64
	for i := range r.cfg.MaxBatches {
		var ok bool
		var err error
		used, size, ok, err = r.usage(ctx)
		if err != nil || !ok {
			return err
		}
		if i == 0 {
			headroom = r.headroom(now, used, size)
		}
		d, e, more, err := r.diskBatch(ctx, now, p, used+headroom, size, high)
		total.add(d)
		early.add(e)
		if err != nil {
			return err
		}
		if !more {
			break
		}
		high = r.cfg.LowWatermark // keep going until below low
	}
	if after, _, ok, err := r.usage(ctx); err == nil && ok {
		r.lastUsed, r.lastAt = after, now
	}
	return r.reportEarly(ctx, now, total, early, used, size)
}

// headroom is how much usage is expected to grow before the next pass: the
// growth seen since the previous pass, doubled for jitter and capped at
// half the gap between the watermarks. Acting on used+headroom keeps usage
// under the high watermark between passes, not just after them.
func (r *Retention) headroom(now time.Time, used, size uint64) uint64 {
	if r.lastAt.IsZero() || used <= r.lastUsed || now.Sub(r.lastAt) <= 0 {
		return 0
	}
	perPass := float64(used-r.lastUsed) * float64(r.cfg.Interval) / float64(now.Sub(r.lastAt))
	limit := (r.cfg.HighWatermark - r.cfg.LowWatermark) * float64(size) / 2
	return uint64(min(2*perPass, limit))
}

// diskBatch plans and deletes one batch; more reports whether another
// batch may be needed.
func (r *Retention) diskBatch(ctx context.Context, now time.Time, p Policy, used, size uint64, high float64) (all, early deleted, more bool, err error) {
	if size == 0 || float64(used) <= high*float64(size) {
		return deleted{}, deleted{}, false, nil
	}
	segs, err := r.deps.Index.SegmentsBefore(ctx, endOfTime(), r.cfg.BatchSize)
	if err != nil {
		return deleted{}, deleted{}, false, fmt.Errorf("disk retention: %w", err)
	}
	// Rows left SegmentDeleting go too; their bytes are as good as freed.
	pending := deletingIDs(segs)
	planned := BeyondDisk(segs, used-min(used, bytesOf(pick(segs, pending))), size, high, r.cfg.LowWatermark)
	picked := pick(segs, append(pending, planned...))
	if len(picked) == 0 {
		r.warnStuck(used, size)
		return deleted{}, deleted{}, false, nil
	}
	r.stuck = false
	gone, err := r.deleteSegments(ctx, picked)
	if err != nil {
		return deleted{}, deleted{}, false, fmt.Errorf("disk retention: %w", err)
	}
	all, early = sum(gone), earlyOf(gone, now, p)
	r.early.Add(uint64(early.segments))
	return all, early, all.segments > 0, nil
}

// warnStuck logs, once until deletion works again, that the disk is full
// of footage retention may not delete (open segments).
func (r *Retention) warnStuck(used, size uint64) {
	if !r.stuck {
		r.log.Warn("disk above high watermark but nothing can be deleted", "used", used, "total", size)
	}
	r.stuck = true
}

// bytesOf sums Bytes.
func bytesOf(segs []index.Segment) uint64 {
	var n uint64
	for _, s := range segs {
		n += uint64(max(s.Bytes, 0))
	}
	return n
}

// earlyOf sums the segments that were still within their retention.
func earlyOf(segs []index.Segment, now time.Time, p Policy) deleted {
	var d deleted
	for _, s := range segs {
		keep := p.Retention(s.Camera)
		if s.State != index.SegmentDeleting && (keep <= 0 || lastTime(s).After(now.Add(-keep))) {
			d.add(deleted{segments: 1, bytes: s.Bytes})
		}
	}
	return d
}

// reportEarly logs a pass's disk-pressure deletions and emits the storage
// event when footage went before its time.
func (r *Retention) reportEarly(ctx context.Context, now time.Time, total, early deleted, used, size uint64) error {
	if total.segments == 0 {
		return nil
	}
	r.log.Warn("disk pressure: deleted oldest footage", "segments", total.segments, "bytes", total.bytes,
		"early_segments", early.segments, "used", used, "total", size)
	if early.segments == 0 {
		return nil
	}
	return r.emitStorageEvent(ctx, now, storageEventData{
		Reason: "disk_pressure", SegmentsDeleted: total.segments, BytesFreed: total.bytes,
		UsedBytes: used, TotalBytes: size, HighWatermark: r.cfg.HighWatermark,
	})
}
