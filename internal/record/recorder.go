package record

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/segment"
	"github.com/vigil-video/vigil/internal/stream"
)

// Recorder records one camera. It implements stream.Reader and runs inline
// on the publisher's goroutine: its cutter cuts fragments and segments, and
// it queues them, by reference, on the Writer.
type Recorder struct {
	cutter
	w    *Writer
	lane *lane

	overloaded bool  // fragments are being refused (logged once)
	droppedAt  int64 // the dropped-frames count when it began
	queued     atomic.Int64
	seg        *segFile
}

var _ stream.Reader = (*Recorder)(nil)

// NewRecorder returns a recorder for camera. Attach it to the camera's
// stream with AddReader.
func (w *Writer) NewRecorder(camera string, log *slog.Logger) *Recorder {
	r := &Recorder{w: w, lane: w.laneOf(camera)}
	r.cutter = newCutter(camera, w.cfg, log, r, &w.stats)
	return r
}

func (r *Recorder) sinkOpen(start time.Time, init []byte) bool {
	seg := &segFile{camera: r.camera, key: segment.Key(r.camera, start), start: start, codecs: segment.CodecList(r.ftrack)}
	if !r.w.submit(r.lane, job{kind: jobOpen, seg: seg, header: init}) {
		return false
	}
	r.seg = seg
	return true
}

func (r *Recorder) sinkFragment(f cutFragment) bool {
	j := job{kind: jobFragment, seg: r.seg, queued: &r.queued, header: f.header, payload: f.payload, bytes: f.bytes,
		frag: index.Fragment{Start: f.start, Key: f.key}, end: f.end}
	if !r.w.submit(r.lane, j) {
		if !r.overloaded {
			// one line per episode: the episode's end says what it cost
			r.overloaded, r.droppedAt = true, r.stats.DroppedFrames.Load()
			r.log.Warn("writer overloaded; dropping fragments until it catches up (recorded as a gap)",
				"queued_bytes", r.queued.Load())
		}
		return false
	}
	if r.overloaded {
		r.log.Warn("writer caught up; recording again", "dropped_frames", r.stats.DroppedFrames.Load()-r.droppedAt)
		r.overloaded = false
	}
	return true
}

func (r *Recorder) sinkClose() {
	r.w.submit(r.lane, job{kind: jobClose, seg: r.seg})
	r.seg = nil
}

func (r *Recorder) sinkGap(g index.Gap) {
	r.w.submit(r.lane, job{kind: jobGap, gap: g})
}

func (r *Recorder) sinkFailed() (time.Time, bool) {
	if r.seg == nil || !r.seg.failed.Load() {
		return time.Time{}, false
	}
	lost := r.seg.start
	r.seg.mu.Lock()
	if !r.seg.end.IsZero() {
		lost = r.seg.end
	}
	r.seg.mu.Unlock()
	return lost, true
}
