package record

import (
	"encoding/binary"
	"hash/fnv"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/segment"
	"github.com/vigil-video/vigil/internal/stream"
)

// maxDTSJump is the largest forward step between two video frames accepted
// inside one segment; anything larger (or a step backwards) is a camera
// clock jump, and the segment is cut.
const maxDTSJump = 10 * time.Second

// gapTolerance is the largest hole between two segments that is not
// recorded as an explicit gap.
const gapTolerance = 500 * time.Millisecond

// Recorder records one camera. It implements stream.Reader and runs inline
// on the publisher's goroutine.
type Recorder struct {
	w      *Writer
	shard  int
	camera string
	log    *slog.Logger
	queued atomic.Int64

	tracks []media.Track // stream tracks
	fileOf []int         // stream track -> file track index, -1 if dropped
	ftrack []media.Track // recorded tracks
	ref    int           // file track index of the reference (video) track
	init   []byte

	seg   *segFile
	tr    []trackState // per file track
	frag  fragState
	seq   uint32
	hdr   []byte
	warnd map[media.Codec]bool

	prevEnd    time.Time // end of the previous segment of this camera
	prevReason string
	dropping   bool // frames are being lost (overload, write error) until the next keyframe

	stats RecorderStats
}

// RecorderStats are one camera's cumulative counters.
type RecorderStats struct {
	Frames        atomic.Int64 // video frames handed to the writer
	DroppedFrames atomic.Int64 // video frames dropped (writer overloaded or failed)
	Segments      atomic.Int64
}

type trackState struct {
	origin  int64 // DTS that maps to the segment start
	started bool
	last    *pendSample // newest sample, waiting for its duration
	lastDur uint32
	lastDTS int64
	run     []segment.Sample
	payload [][]byte // the fragment's sample data, in pieces
	prefix  []byte   // backing of the fragment's AVCC length prefixes
	base    uint64
}

type pendSample struct {
	dts, pts int64
	key      bool
	au       *media.AccessUnit
}

// appendSample adds au's sample data to the fragment's pieces without
// copying it: each NAL unit of a video unit goes in behind its 4-byte
// length prefix (kept in ts.prefix), an audio unit's payload as is.
func (ts *trackState) appendSample(au *media.AccessUnit) {
	for _, n := range au.NALUs {
		if len(ts.prefix)+4 > cap(ts.prefix) {
			// earlier prefixes stay in the old array, which the pieces keep
			ts.prefix = make([]byte, 0, max(256, 2*cap(ts.prefix)))
		}
		at := len(ts.prefix)
		ts.prefix = binary.BigEndian.AppendUint32(ts.prefix, uint32(len(n)))
		ts.payload = append(ts.payload, ts.prefix[at:at+4:at+4], n)
	}
	if len(au.Payload) > 0 {
		ts.payload = append(ts.payload, au.Payload)
	}
}

type fragState struct {
	startDTS int64 // reference track DTS of the fragment's first sample
	open     bool
	key      bool
}

var _ stream.Reader = (*Recorder)(nil)

// NewRecorder returns a recorder for camera. Attach it to the camera's
// stream with AddReader.
func (w *Writer) NewRecorder(camera string, log *slog.Logger) *Recorder {
	h := fnv.New32a()
	h.Write([]byte(camera))
	return &Recorder{
		w: w, camera: camera, log: log,
		shard: int(h.Sum32() % uint32(len(w.shards))),
		warnd: map[media.Codec]bool{},
	}
}

// Stats returns the recorder's counters.
func (r *Recorder) Stats() *RecorderStats { return &r.stats }

// SetPrevious tells the recorder where the camera's footage ended before
// it was created (e.g. before a hub restart), so the hole is recorded as an
// explicit gap with reason.
func (r *Recorder) SetPrevious(end time.Time, reason string) {
	r.prevEnd, r.prevReason = end, reason
}

// Begin implements stream.Reader.
func (r *Recorder) Begin(tracks []media.Track) {
	r.finishSegment("reconnect")
	r.tracks = tracks
	r.fileOf = make([]int, len(tracks))
	r.ftrack = r.ftrack[:0]
	r.ref = -1
	for i, t := range tracks {
		r.fileOf[i] = -1
		if !t.Codec.Info().Recordable {
			r.warnOnce(t.Codec, "track not recordable; dropping it")
			continue
		}
		r.fileOf[i] = len(r.ftrack)
		if r.ref < 0 && t.IsVideo() {
			r.ref = len(r.ftrack)
		}
		r.ftrack = append(r.ftrack, t)
	}
	r.init = nil
	if r.ref < 0 {
		r.log.Warn("stream has no recordable video track; not recording", "tracks", len(tracks))
		return
	}
	init, err := segment.Init(r.ftrack)
	if err != nil {
		r.log.Error("cannot record stream", "err", err)
		r.ref = -1
		return
	}
	r.init = init
	r.tr = make([]trackState, len(r.ftrack))
}

func (r *Recorder) warnOnce(c media.Codec, msg string) {
	if !r.warnd[c] {
		r.warnd[c] = true
		r.log.Info(msg, "codec", c.String())
	}
}

// End implements stream.Reader.
func (r *Recorder) End() {
	r.finishSegment("reconnect")
	r.tracks, r.ref = nil, -1
}

// Close ends the current segment (used when recording is switched off).
func (r *Recorder) Close() { r.End() }

// Write implements stream.Reader.
func (r *Recorder) Write(au *media.AccessUnit) {
	if au.Track >= len(r.fileOf) || r.ref < 0 {
		return
	}
	ft := r.fileOf[au.Track]
	if ft < 0 {
		r.w.stats.IgnoredUnits.Add(1)
		return
	}
	if r.seg != nil && r.seg.failed.Load() {
		r.abandon("write_error")
	}
	if ft == r.ref {
		r.writeRef(au)
		return
	}
	if r.seg != nil {
		r.addSample(ft, au)
	}
}

func (r *Recorder) writeRef(au *media.AccessUnit) {
	ts := &r.tr[r.ref]
	if r.seg != nil && ts.started {
		step := au.DTS - ts.lastDTS
		if step <= 0 || r.ticks(r.ref, step) > maxDTSJump {
			r.log.Warn("camera clock jumped; starting a new segment", "step", r.ticks(r.ref, step))
			r.finishSegment("clock_jump")
		}
	}
	if r.seg == nil {
		if !au.Key {
			if r.dropping {
				r.countDropped(1)
			}
			return
		}
		r.openSegment(au)
	} else {
		r.completeRef(au.DTS)
		elapsedSeg := r.ticks(r.ref, au.DTS-ts.origin)
		if au.Key && elapsedSeg >= r.w.cfg.SegmentDuration {
			start := r.seg.start.Add(elapsedSeg)
			r.finishSegment("")
			r.openSegmentAt(au, start)
		} else if r.frag.open && r.ticks(r.ref, au.DTS-r.frag.startDTS) >= r.w.cfg.FragmentDuration {
			r.flushFragment(false)
		}
	}
	r.addSample(r.ref, au)
}

// completeRef gives the reference track's pending sample its duration now
// that the next frame's DTS is known.
func (r *Recorder) completeRef(next int64) {
	ts := &r.tr[r.ref]
	if ts.last == nil {
		return
	}
	ts.lastDur = uint32(min(max(next-ts.last.dts, 1), 1<<31))
	r.pushSample(r.ref, ts.lastDur)
}

func (r *Recorder) ticks(ft int, n int64) time.Duration {
	if n < 0 {
		return -segment.Ticks(uint64(-n), uint32(r.ftrack[ft].ClockRate))
	}
	return segment.Ticks(uint64(n), uint32(r.ftrack[ft].ClockRate))
}

func (r *Recorder) openSegment(au *media.AccessUnit) {
	start := au.Wall
	if cr := r.ftrack[r.ref].ClockRate; cr > 0 && au.PTS > au.DTS {
		start = start.Add(-r.ticks(r.ref, au.PTS-au.DTS))
	}
	r.openSegmentAt(au, start)
}

func (r *Recorder) openSegmentAt(au *media.AccessUnit, start time.Time) {
	if !r.prevEnd.IsZero() && start.Sub(r.prevEnd) > gapTolerance {
		reason := r.prevReason
		if reason == "" {
			reason = "reconnect"
		}
		r.w.submit(r.shard, job{kind: jobGap, gap: index.Gap{
			Camera: r.camera, Start: r.prevEnd, End: start, State: index.GapLost, Reason: reason,
		}})
	}
	r.prevEnd, r.prevReason, r.dropping = time.Time{}, "", false
	seg := &segFile{camera: r.camera, key: segment.Key(r.camera, start), start: start, codecs: segment.CodecList(r.ftrack)}
	if !r.w.submit(r.shard, job{kind: jobOpen, seg: seg, header: r.init}) {
		return
	}
	r.seg = seg
	r.seq = 0
	for i := range r.tr {
		r.tr[i] = trackState{}
	}
	r.tr[r.ref].origin = au.DTS
	r.tr[r.ref].started = true
	r.tr[r.ref].lastDTS = au.DTS
	r.frag = fragState{}
	r.stats.Segments.Add(1)
}

// addSample appends au to track ft, completing the previous sample of that
// track with its duration.
func (r *Recorder) addSample(ft int, au *media.AccessUnit) {
	ts := &r.tr[ft]
	if !ts.started {
		off := au.Wall.Sub(r.seg.start)
		if off < 0 {
			return // audio from before the segment's first frame
		}
		ts.origin = au.DTS - int64(off)*int64(r.ftrack[ft].ClockRate)/int64(time.Second)
		ts.started = true
	}
	if au.DTS < ts.origin {
		return
	}
	if ts.last != nil {
		d := au.DTS - ts.last.dts
		if d <= 0 {
			if ft != r.ref {
				return // out-of-order audio: drop
			}
			d = 1
		}
		ts.lastDur = uint32(min(d, 1<<31))
		r.pushSample(ft, ts.lastDur)
	}
	ts.last = &pendSample{dts: au.DTS, pts: au.PTS, key: au.Key, au: au}
	ts.lastDTS = au.DTS
	if ft == r.ref && !r.frag.open {
		r.frag = fragState{startDTS: au.DTS, open: true, key: au.Key}
	}
}

// pushSample moves track ft's pending sample into the current fragment.
func (r *Recorder) pushSample(ft int, dur uint32) {
	ts := &r.tr[ft]
	s := ts.last
	if len(ts.run) == 0 {
		ts.base = uint64(s.dts - ts.origin)
	}
	ts.run = append(ts.run, segment.Sample{
		Duration: dur, Size: uint32(s.au.Size()), CTO: int32(s.pts - s.dts), NonSync: !s.key,
	})
	ts.appendSample(s.au)
	ts.last = nil
}

// flushFragment hands the current fragment to the writer. With final set,
// every track's pending sample is included (nominal duration).
func (r *Recorder) flushFragment(final bool) {
	if final {
		for ft := range r.tr {
			if ts := &r.tr[ft]; ts.last != nil {
				d := ts.lastDur
				if d == 0 {
					d = uint32(r.ftrack[ft].ClockRate / 25)
				}
				r.pushSample(ft, d)
			}
		}
	}
	refRun := &r.tr[r.ref]
	if len(refRun.run) == 0 {
		return
	}
	runs := make([]segment.Run, 0, len(r.tr))
	payload := make([][]byte, 0, 64)
	var bytes int64
	frames := len(refRun.run)
	for ft := range r.tr {
		ts := &r.tr[ft]
		if len(ts.run) == 0 {
			continue
		}
		runs = append(runs, segment.Run{TrackID: uint32(ft + 1), BaseTime: ts.base, Samples: ts.run})
		for _, p := range ts.payload {
			bytes += int64(len(p))
		}
		payload = append(payload, ts.payload...)
	}
	r.seq++
	hdr := segment.AppendFragmentHeader(make([]byte, 0, 256+frames*16), r.seq, runs)
	var refDur uint64
	for _, s := range refRun.run {
		refDur += uint64(s.Duration)
	}
	start := r.ticks(r.ref, int64(refRun.base))
	end := r.seg.start.Add(r.ticks(r.ref, int64(refRun.base+refDur)))
	j := job{kind: jobFragment, seg: r.seg, rec: r, header: hdr, payload: payload, bytes: bytes + int64(len(hdr)),
		frag: index.Fragment{Start: start, Key: r.frag.key}, end: end}
	for ft := range r.tr {
		r.tr[ft].run = nil
		r.tr[ft].payload = nil
		r.tr[ft].prefix = nil
	}
	r.frag.open = false
	if !r.w.submit(r.shard, j) {
		r.countDropped(frames)
		r.w.stats.DroppedBytes.Add(j.bytes)
		r.dropSegment(r.seg.start.Add(start))
		return
	}
	r.stats.Frames.Add(int64(frames))
}

// dropSegment ends the segment after a fragment could not be queued; the
// footage from lostFrom on is recorded as a gap when the next segment opens.
func (r *Recorder) dropSegment(lostFrom time.Time) {
	r.log.Warn("writer overloaded; dropped a fragment and ended the segment", "queued_bytes", r.queued.Load())
	r.w.submit(r.shard, job{kind: jobClose, seg: r.seg})
	r.seg = nil
	r.prevEnd, r.prevReason, r.dropping = lostFrom, "overload", true
}

func (r *Recorder) countDropped(frames int) {
	r.stats.DroppedFrames.Add(int64(frames))
	r.w.stats.DroppedFrames.Add(int64(frames))
}

// abandon ends a segment whose file failed.
func (r *Recorder) abandon(reason string) {
	lost := r.seg.start
	r.seg.mu.Lock()
	if !r.seg.end.IsZero() {
		lost = r.seg.end
	}
	r.seg.mu.Unlock()
	r.w.submit(r.shard, job{kind: jobClose, seg: r.seg})
	r.seg = nil
	r.prevEnd, r.prevReason, r.dropping = lost, reason, true
}

// finishSegment flushes the last fragment and closes the segment.
func (r *Recorder) finishSegment(reason string) {
	if r.seg == nil {
		return
	}
	// Close the running fragment with the pending samples of every track.
	r.flushFragment(true)
	if r.seg == nil {
		return // dropped while flushing
	}
	ts := &r.tr[r.ref]
	end := r.seg.start.Add(r.ticks(r.ref, ts.lastDTS-ts.origin+int64(ts.lastDur)))
	r.w.submit(r.shard, job{kind: jobClose, seg: r.seg})
	r.seg = nil
	r.prevEnd, r.prevReason = end, reason
}
