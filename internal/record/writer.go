// Package record turns camera streams into crash-safe fMP4 segment files.
//
// A Recorder is a stream.Reader that runs inline on the publisher's
// goroutine: it cuts fragments (about 1 s) and segments (about 1 min) on the
// access units it is handed, builds each fragment's moof header directly,
// and hands whole fragments, by reference, to the hub-wide Writer. The
// Writer's workers write each, padded with a free box to segment.Align, in
// one call (blob/fs writes such aligned data past the page cache, with
// O_DIRECT); its syncer makes all
// files durable with one group commit per interval and then records the
// durable progress in the index in one transaction. A slow disk therefore
// never stalls a camera's socket: when a camera's queued bytes exceed their
// bound the recorder drops the fragment, ends the segment and records an
// explicit gap.
//
// A Fragmenter cuts fragments with the same code as the Recorder (both are
// a cutter with a different sink) and hands each to a callback: a site
// gateway spools them. On the hub an Importer stores a gateway's uploaded
// fragments through the same Writer, at most once per (camera, origin,
// seq), patched so the files look recorded by the hub; its Flush returns
// what is durable and committed, which the hub acknowledges.
package record

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-video/vigil/internal/blob"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/segment"
)

// Index is what recording needs from the recordings index.
type Index interface {
	AddSegment(ctx context.Context, s index.Segment) (int64, error)
	AddSegments(ctx context.Context, segs []index.Segment) ([]int64, error)
	CommitSegments(ctx context.Context, ups []index.SegmentUpdate) error
	AddGap(ctx context.Context, g index.Gap) (int64, error)
}

// Config tunes recording. Zero values take the defaults.
type Config struct {
	// SegmentDuration is the target length of a segment file; segments are
	// cut on the first keyframe past it. It defaults to 1 minute.
	SegmentDuration time.Duration
	// FragmentDuration is the target length of a fragment. It defaults to 1 s.
	FragmentDuration time.Duration
	// KeyFragments makes every fragment start on a keyframe: a fragment
	// past FragmentDuration is cut at the next keyframe, or at
	// maxKeyFragment (10 s) without one. A gateway's Fragmenter sets it, so
	// any uploaded fragment can start a hub segment that decodes on its own.
	KeyFragments bool
	// SyncInterval is the group-commit period: how often written fragments
	// are made durable and committed to the index. It defaults to 250 ms.
	SyncInterval time.Duration
	// MaxQueuedBytes bounds one camera's bytes handed to the writer but not
	// yet written. It defaults to 8 MiB (16 s at 4 Mbit/s).
	MaxQueuedBytes int64
	// MaxTotalQueuedBytes bounds the bytes queued for all cameras
	// together. It defaults to 2 GiB (about 13 s of 300 cameras at 4 Mbit/s).
	MaxTotalQueuedBytes int64
	// Workers bounds the writer goroutines, which start as the queued
	// work needs them (lanes.go). It defaults to 64.
	Workers int
}

func (c *Config) setDefaults() {
	if c.SegmentDuration <= 0 {
		c.SegmentDuration = time.Minute
	}
	if c.FragmentDuration <= 0 {
		c.FragmentDuration = time.Second
	}
	if c.SyncInterval <= 0 {
		c.SyncInterval = 250 * time.Millisecond
	}
	if c.MaxQueuedBytes <= 0 {
		c.MaxQueuedBytes = 8 << 20
	}
	if c.MaxTotalQueuedBytes <= 0 {
		c.MaxTotalQueuedBytes = 2 << 30
	}
	if c.Workers <= 0 {
		c.Workers = 64
	}
}

// Store is the blob store segments are written to. SyncAll, when the store
// has it (blob/fs does: syncfs), makes every file durable in one call.
type Store interface {
	Create(ctx context.Context, key string) (blob.Writer, error)
}

type syncAller interface{ SyncAll() error }

// writebackStarter is implemented by blob writers that can start writing a
// range to disk without waiting (blob/fs: sync_file_range).
type writebackStarter interface {
	StartWriteback(off, n int64) error
}

// Writer is the hub-wide disk side of recording.
type Writer struct {
	cfg   Config
	idx   Index
	store Store
	log   *slog.Logger
	pool  *pool

	laneMu sync.Mutex
	lanes  map[string]*lane // by camera

	mu      sync.Mutex
	dirty   map[*segFile]struct{}
	running atomic.Bool
	closed  atomic.Bool

	impMu sync.Mutex
	imps  map[string]*Importer // by camera and origin

	stats WriterStats
}

// WriterStats are cumulative counters, safe to read at any time.
type WriterStats struct {
	BytesWritten  atomic.Int64
	Fragments     atomic.Int64
	Segments      atomic.Int64
	Syncs         atomic.Int64
	SyncNanos     atomic.Int64 // total time spent in sync+commit
	WriteErrors   atomic.Int64
	CommitErrors  atomic.Int64
	QueuedBytes   atomic.Int64
	DroppedFrames atomic.Int64
	DroppedBytes  atomic.Int64
	IgnoredUnits  atomic.Int64 // units of tracks that are not recorded
}

// NewWriter returns a writer; call Run to start it.
func NewWriter(cfg Config, idx Index, store Store, log *slog.Logger) *Writer {
	cfg.setDefaults()
	w := &Writer{cfg: cfg, idx: idx, store: store, log: log, dirty: map[*segFile]struct{}{}, lanes: map[string]*lane{}}
	w.pool = newPool(cfg.Workers, w.do)
	return w
}

// Stats returns the writer's counters.
func (w *Writer) Stats() *WriterStats { return &w.stats }

// Config returns the effective configuration.
func (w *Writer) Config() Config { return w.cfg }

// Run writes queued fragments and commits them until ctx ends, then drains
// what was queued, commits it and returns.
func (w *Writer) Run(ctx context.Context) error {
	w.running.Store(true)
	w.pool.start()
	t := time.NewTicker(w.cfg.SyncInterval)
	defer t.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-t.C:
			w.syncAndCommit()
		}
	}
	w.closed.Store(true)
	w.pool.close()
	w.syncAndCommit()
	return nil
}

// laneOf returns camera's lane: its recorder's and importers' jobs run
// in the order they were queued.
func (w *Writer) laneOf(camera string) *lane {
	w.laneMu.Lock()
	defer w.laneMu.Unlock()
	l := w.lanes[camera]
	if l == nil {
		l = &lane{}
		w.lanes[camera] = l
	}
	return l
}

// job is one unit of work for a worker.
type job struct {
	kind    jobKind
	seg     *segFile
	header  []byte
	payload [][]byte
	frag    index.Fragment
	end     time.Time
	bytes   int64
	gap     index.Gap
	queued  *atomic.Int64 // the camera's queued bytes (fragment jobs)
	space   chan struct{} // importer fragments: told when written (cap 1)
}

type jobKind int

const (
	jobOpen jobKind = iota + 1
	jobFragment
	jobClose
	jobGap
)

// submit queues j on the camera's lane. Fragment jobs are refused when
// the camera's queue is over its bound; control jobs never are.
func (w *Writer) submit(l *lane, j job) bool {
	if w.closed.Load() {
		return false
	}
	if j.kind == jobFragment {
		if j.queued.Load()+j.bytes > w.cfg.MaxQueuedBytes ||
			w.stats.QueuedBytes.Load()+j.bytes > w.cfg.MaxTotalQueuedBytes {
			return false
		}
		j.queued.Add(j.bytes)
		w.stats.QueuedBytes.Add(j.bytes)
	}
	return w.pool.push(l, j)
}

// submitWait queues an importer's fragment job, waiting (until ctx ends)
// while the camera's queued bytes are over their bound; a camera with
// nothing queued may always queue one fragment. space is signalled each
// time the writer finishes one of the camera's fragments.
func (w *Writer) submitWait(ctx context.Context, l *lane, j job) error {
	for {
		if w.closed.Load() {
			return ErrWriterClosed
		}
		q := j.queued.Load()
		if q == 0 || (q+j.bytes <= w.cfg.MaxQueuedBytes && w.stats.QueuedBytes.Load()+j.bytes <= w.cfg.MaxTotalQueuedBytes) {
			j.queued.Add(j.bytes)
			w.stats.QueuedBytes.Add(j.bytes)
			if !w.pool.push(l, j) {
				j.queued.Add(-j.bytes)
				w.stats.QueuedBytes.Add(-j.bytes)
				return ErrWriterClosed
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the writer's queue: %w", ctx.Err())
		case <-j.space:
		}
	}
}

func (w *Writer) do(j *job) {
	switch j.kind {
	case jobOpen:
		w.open(j)
	case jobFragment:
		w.writeFragment(j)
		j.queued.Add(-j.bytes)
		w.stats.QueuedBytes.Add(-j.bytes)
		if j.space != nil {
			select {
			case j.space <- struct{}{}:
			default:
			}
		}
	case jobClose:
		w.closeSeg(j.seg)
	case jobGap:
		w.addGap(j.gap)
	}
}

// open creates a segment's file and writes its init block. A segment the
// hub records gets its index row at the next group commit, together with
// every other segment opened since the last (one transaction for all: when
// many cameras cut or connect at once, the workers never wait on the
// index); start-up recovery indexes a file that a crash left without a row.
// An imported segment is indexed here, before its first fragment, since an
// upload's deduplication looks its sequence numbers up in the index.
func (w *Writer) open(j *job) {
	seg := j.seg
	seg.mu.Lock()
	failed := seg.err != nil
	seg.mu.Unlock()
	if failed {
		return // an imported segment after a failed one (Importer.onFail): never created
	}
	ctx := context.Background()
	bw, err := w.store.Create(ctx, seg.key)
	var initSize int64
	if err == nil {
		initSize, err = writeBufs(bw, j.header, nil, segment.Padding(int64(len(j.header))))
		if err != nil {
			bw.Close()
		}
	}
	if err != nil {
		w.fail(seg, fmt.Errorf("create segment %s: %w", seg.key, err))
		return
	}
	var id int64
	if seg.origin != "" {
		id, err = w.idx.AddSegment(ctx, seg.row(initSize, seg.start, initSize, nil, false))
		if err != nil {
			bw.Close()
			w.fail(seg, fmt.Errorf("index segment %s: %w", seg.key, err))
			return
		}
	}
	seg.mu.Lock()
	seg.w, seg.id, seg.initSize, seg.written, seg.end = bw, id, initSize, initSize, seg.start
	seg.mu.Unlock()
	w.stats.Segments.Add(1)
	if id == 0 {
		w.markDirty(seg)
	}
}

func (w *Writer) fail(seg *segFile, err error) {
	w.stats.WriteErrors.Add(1)
	seg.mu.Lock()
	first := seg.err == nil
	if first {
		seg.err = err
	}
	seg.mu.Unlock()
	seg.failed.Store(true)
	if first {
		w.log.Error("recording failed; segment ends here", "camera", seg.camera, "segment", seg.key, "err", err)
		if seg.imp != nil {
			seg.imp.onFail(seg, err)
		}
	}
}

func (w *Writer) writeFragment(j *job) {
	seg := j.seg
	seg.mu.Lock()
	bw, off, bad := seg.w, seg.written, seg.err != nil || seg.w == nil
	seg.mu.Unlock()
	if bad {
		return
	}
	n, err := writeBufs(bw, j.header, j.payload, segment.Padding(j.bytes)) // bytes: header + payload
	if err != nil {
		// The index stops at the last complete fragment; start-up
		// recovery cuts the torn one off the file.
		w.fail(seg, fmt.Errorf("write segment %s: %w", seg.key, err))
		return
	}
	if wb, ok := bw.(writebackStarter); ok {
		wb.StartWriteback(off, n)
	}
	frag := j.frag
	frag.Offset = off
	seg.mu.Lock()
	seg.written += n
	seg.pending = append(seg.pending, frag)
	seg.end = j.end
	seg.mu.Unlock()
	w.markDirty(seg)
	w.stats.BytesWritten.Add(n)
	w.stats.Fragments.Add(1)
}

// writeBufs writes header, payload and pad (the free box padding them to
// segment.Align, so stores can write past the page cache) in one call.
func writeBufs(bw blob.Writer, header []byte, payload, pad [][]byte) (int64, error) {
	bufs := make([][]byte, 0, len(payload)+len(pad)+1)
	bufs = append(bufs, header)
	bufs = append(bufs, payload...)
	bufs = append(bufs, pad...)
	if vw, ok := bw.(blob.VecWriter); ok {
		return vw.WriteVec(bufs)
	}
	var total int64
	for _, b := range bufs {
		n, err := bw.Write(b)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (w *Writer) closeSeg(seg *segFile) {
	seg.mu.Lock()
	seg.closing = true
	seg.mu.Unlock()
	w.markDirty(seg)
}

func (w *Writer) addGap(g index.Gap) {
	if _, err := w.idx.AddGap(context.Background(), g); err != nil {
		w.stats.CommitErrors.Add(1)
		w.log.Error("record gap in index", "camera", g.Camera, "err", err)
	}
}

func (w *Writer) markDirty(seg *segFile) {
	w.mu.Lock()
	w.dirty[seg] = struct{}{}
	w.mu.Unlock()
}

// syncAndCommit is the group commit: snapshot what every dirty segment has
// written, make it durable, then record it in the index in one transaction.
func (w *Writer) syncAndCommit() {
	w.mu.Lock()
	if len(w.dirty) == 0 {
		w.mu.Unlock()
		return
	}
	segs := make([]*segFile, 0, len(w.dirty))
	for s := range w.dirty {
		segs = append(segs, s)
	}
	clear(w.dirty)
	w.mu.Unlock()

	start := time.Now()
	snaps := make([]segSnapshot, 0, len(segs))
	for _, s := range segs {
		snaps = append(snaps, s.snapshot())
	}
	w.syncFiles(snaps)
	added := w.addNew(segs, snaps)
	ups := make([]index.SegmentUpdate, 0, len(snaps))
	for _, sn := range snaps {
		if sn.id != 0 && !sn.syncFailed && !added[sn.id] {
			ups = append(ups, index.SegmentUpdate{ID: sn.id, End: sn.end, Bytes: sn.written, Fragments: sn.frags, Close: sn.closing})
		}
	}
	err := w.idx.CommitSegments(context.Background(), ups)
	if err != nil {
		w.stats.CommitErrors.Add(1)
		w.log.Error("commit segments to index; will retry", "segments", len(ups), "err", err)
	}
	for i, s := range segs {
		sn := snaps[i]
		ok := sn.id != 0 && !sn.syncFailed && (err == nil || added[sn.id])
		s.afterCommit(sn, ok, w)
	}
	w.stats.Syncs.Add(1)
	w.stats.SyncNanos.Add(int64(time.Since(start)))
}

// addNew inserts the index rows of the segments opened since the last
// commit, as far as they are durable (snaps), in one transaction, and sets
// their ids (in the segments and in snaps). It returns the ids it added.
// When the batch fails the segments are added one by one: one that the
// index refuses (a path in use) fails; on any other error they are tried
// again at the next commit.
func (w *Writer) addNew(segs []*segFile, snaps []segSnapshot) map[int64]bool {
	var rows []index.Segment
	var which []int
	for i, sn := range snaps {
		if sn.id == 0 && sn.w != nil && !sn.syncFailed && !sn.refused {
			rows = append(rows, segs[i].row(sn.initSize, sn.end, sn.written, sn.frags, sn.closing))
			which = append(which, i)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	ctx := context.Background()
	ids, err := w.idx.AddSegments(ctx, rows)
	if err != nil {
		ids = make([]int64, len(rows))
		for k, r := range rows {
			id, err := w.idx.AddSegment(ctx, r)
			if errors.Is(err, index.ErrConflict) || errors.Is(err, index.ErrInvalid) {
				seg := segs[which[k]]
				seg.mu.Lock()
				seg.refused = true
				seg.mu.Unlock()
				w.fail(seg, fmt.Errorf("index segment %s: %w", r.Path, err))
				continue
			}
			if err != nil {
				w.stats.CommitErrors.Add(1)
				w.log.Error("index new segments; will retry", "segments", len(rows), "err", err)
				break
			}
			ids[k] = id
		}
	}
	added := make(map[int64]bool, len(ids))
	for k, id := range ids {
		if id == 0 {
			continue
		}
		i := which[k]
		segs[i].mu.Lock()
		segs[i].id = id
		segs[i].mu.Unlock()
		snaps[i].id = id
		added[id] = true
	}
	return added
}

func (w *Writer) syncFiles(snaps []segSnapshot) {
	if sa, ok := w.store.(syncAller); ok && len(snaps) > 1 {
		if err := sa.SyncAll(); err == nil {
			return
		} else {
			w.log.Warn("group sync failed; syncing files one by one", "err", err)
		}
	}
	for i := range snaps {
		if snaps[i].w == nil {
			continue
		}
		if err := snaps[i].w.Sync(); err != nil {
			snaps[i].syncFailed = true
			w.stats.WriteErrors.Add(1)
			w.log.Error("sync segment", "segment", snaps[i].key, "err", err)
		}
	}
}

// ErrWriterClosed is returned when recording after the writer stopped.
var ErrWriterClosed = errors.New("record: writer closed")
