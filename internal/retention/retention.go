// Package retention deletes recorded footage that is past its camera's
// retention time, and the oldest footage early when the disk (or an
// absolute quota) is too full.
//
// Planning is pure (BeyondTime, BeyondDisk over index rows, with the clock
// and disk figures passed in). The executor, Retention, loads candidates
// from the index in bounded batches, plans, and deletes crash-safely:
// MarkDeleting(ids), then delete each blob, then DeleteSegments(ids). A
// crash between the steps leaves rows in SegmentDeleting, which the next
// start finishes (their blobs may or may not still exist; deleting a
// missing blob is not an error).
package retention

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// Defaults of Config fields.
const (
	DefaultInterval      = 10 * time.Second
	DefaultHighWatermark = 0.90
	DefaultLowWatermark  = 0.85
	DefaultBatchSize     = 500
	DefaultMaxBatches    = 20
)

// Config configures retention. The zero value is usable: it keeps footage
// until the disk is full, if a disk usage source is given.
type Config struct {
	// Interval between passes of Run. It defaults to 10 s.
	Interval time.Duration
	// Retention is the hub default for cameras whose RetentionDays is 0
	// and for footage of cameras no longer in the index. Zero keeps
	// footage until disk pressure removes it.
	Retention time.Duration
	// HighWatermark is the fraction of the disk (or of MaxBytes) above
	// which the oldest footage is deleted before its time. It defaults to
	// 0.90.
	HighWatermark float64
	// LowWatermark is the fraction early deletion brings usage below. It
	// defaults to 0.85, and to HighWatermark-0.05 when not below it.
	LowWatermark float64
	// MaxBytes, when set, is an absolute quota: usage is the index's
	// TotalBytes and the total is MaxBytes, instead of the file system's
	// figures.
	MaxBytes uint64
	// BatchSize is how many index rows one query loads. It defaults to
	// 500.
	BatchSize int
	// MaxBatches bounds the batches one pass deletes per camera and for
	// disk pressure, so a pass after a long outage ends in bounded time.
	// It defaults to 20.
	MaxBatches int
}

// Index is what retention needs from the recordings index.
type Index interface {
	ListCameras(ctx context.Context) ([]index.Camera, error)
	SegmentsBefore(ctx context.Context, t time.Time, limit int) ([]index.Segment, error)
	CameraSegmentsBefore(ctx context.Context, camera string, t time.Time, limit int) ([]index.Segment, error)
	MarkDeleting(ctx context.Context, ids []int64) error
	DeleteSegments(ctx context.Context, ids []int64) error
	TotalBytes(ctx context.Context) (int64, error)
	DeleteGapsBefore(ctx context.Context, camera string, t time.Time) error
	DeleteEventsBefore(ctx context.Context, t time.Time) error
}

// BlobDeleter deletes segment files; deleting a missing blob is not an
// error (blob.Store satisfies it).
type BlobDeleter interface {
	Delete(ctx context.Context, key string) error
}

// EventSink receives the storage event of a pass that deleted footage
// early (index.Index satisfies it).
type EventSink interface {
	AddEvent(ctx context.Context, e index.Event) (int64, error)
}

// Deps are retention's collaborators.
type Deps struct {
	Index Index       // required
	Blobs BlobDeleter // required
	// Events receives storage events; nil drops them.
	Events EventSink
	// DiskUsage reports the recordings file system's used and total
	// bytes (see StatfsUsage). Nil, with Config.MaxBytes 0, disables
	// deletion for disk pressure.
	DiskUsage func() (used, total uint64, err error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
}

// Stats are cumulative counters since New.
type Stats struct {
	Passes          uint64 // completed passes
	DeletedSegments uint64 // segment rows and blobs removed
	DeletedBytes    uint64 // their Bytes
	EarlyDeletions  uint64 // segments removed before their retention time (disk pressure)
	BlobErrors      uint64 // blob deletions that failed (the row stays SegmentDeleting)
}

// Retention is the retention executor. Create it with New and start it
// with Run (or call RunOnce).
type Retention struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	mu        sync.Mutex // serializes passes
	recovered bool       // SegmentDeleting rows left by a crash were finished
	stuck     bool       // warned that disk pressure found nothing to delete
	lastUsed  uint64     // usage after the previous disk pass
	lastAt    time.Time  // when it was measured

	passes, segments, bytes, early, blobErrs atomic.Uint64
}

// New returns an executor with cfg's defaults applied.
func New(cfg Config, deps Deps) *Retention {
	cfg = withDefaults(cfg)
	if deps.Now == nil {
		deps.Now = time.Now
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Retention{cfg: cfg, deps: deps, log: log.With("component", "retention")}
}

func withDefaults(cfg Config) Config {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.HighWatermark <= 0 || cfg.HighWatermark > 1 {
		cfg.HighWatermark = DefaultHighWatermark
	}
	if cfg.LowWatermark <= 0 {
		cfg.LowWatermark = DefaultLowWatermark
	}
	if cfg.LowWatermark >= cfg.HighWatermark {
		cfg.LowWatermark = max(cfg.HighWatermark-0.05, 0)
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.MaxBatches <= 0 {
		cfg.MaxBatches = DefaultMaxBatches
	}
	return cfg
}

// Stats returns the counters.
func (r *Retention) Stats() Stats {
	return Stats{
		Passes:          r.passes.Load(),
		DeletedSegments: r.segments.Load(),
		DeletedBytes:    r.bytes.Load(),
		EarlyDeletions:  r.early.Load(),
		BlobErrors:      r.blobErrs.Load(),
	}
}

// Run runs a pass at once and then every Config.Interval until ctx ends,
// when it returns nil. It returns the error of a failed pass (index
// errors; a blob that cannot be deleted is only logged and retried later)
// so that a supervisor can restart it with backoff.
func (r *Retention) Run(ctx context.Context) error {
	tick := time.NewTicker(r.cfg.Interval)
	defer tick.Stop()
	for {
		if err := r.RunOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// RunOnce runs one pass: the first pass finishes rows a crash left in
// SegmentDeleting, then every pass deletes footage beyond its retention
// time, then the oldest footage while the disk is above the high
// watermark, then expired gaps and events.
func (r *Retention) RunOnce(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.pass(ctx); err != nil {
		return fmt.Errorf("retention pass: %w", err)
	}
	r.passes.Add(1)
	return nil
}

func (r *Retention) pass(ctx context.Context) error {
	now := r.deps.Now()
	cams, err := r.deps.Index.ListCameras(ctx)
	if err != nil {
		return fmt.Errorf("list cameras: %w", err)
	}
	if !r.recovered {
		if err := r.recover(ctx, cams); err != nil {
			return err
		}
		r.recovered = true
	}
	policy := PolicyFor(r.cfg.Retention, cams)
	if err := r.timeRetention(ctx, now, policy, cams); err != nil {
		return err
	}
	if err := r.diskRetention(ctx, now, policy); err != nil {
		return err
	}
	return r.expireGapsAndEvents(ctx, now, policy, cams)
}
