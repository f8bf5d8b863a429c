package record

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/segment"
)

// maxDTSJump is the largest forward step between two video frames accepted
// inside one segment; anything larger (or a step backwards) is a camera
// clock jump, and the segment is cut.
const maxDTSJump = 10 * time.Second

// gapTolerance is the largest hole between two segments that is not
// recorded as an explicit gap.
const gapTolerance = 500 * time.Millisecond

// sink receives what a cutter cuts. The Recorder's sink queues it on the
// Writer; the Fragmenter's hands each fragment to a callback. Every method
// is called inline on the publisher's goroutine.
type sink interface {
	// sinkOpen starts a segment whose first video sample is at start;
	// false when it was refused (the cutter then waits for the next
	// keyframe).
	sinkOpen(start time.Time, init []byte) bool
	// sinkFragment takes one complete fragment of the open segment; false
	// when it was refused (overload): the cutter drops the fragment and
	// ends the segment.
	sinkFragment(f cutFragment) bool
	// sinkClose ends the open segment.
	sinkClose()
	// sinkGap records footage that was lost.
	sinkGap(g index.Gap)
	// sinkFailed reports whether the open segment failed (write error);
	// lost is where its stored footage ends.
	sinkFailed() (lost time.Time, failed bool)
}

// cutFragment is one fragment as cut: its moof+mdat header and the sample
// data in pieces (by reference to the access units).
type cutFragment struct {
	header  []byte
	payload [][]byte
	bytes   int64         // header and payload
	frames  int           // video frames
	start   time.Duration // first video sample, from the segment start
	dur     time.Duration // video duration
	end     time.Time     // wall time of the end of its last video sample
	key     bool
}

// cutter cuts access units into fragments and segments. Recorder and
// Fragmenter are a cutter with different sinks, so that recordings and a
// gateway's fragments are cut by the same code.
type cutter struct {
	camera string
	log    *slog.Logger
	cfg    Config
	out    sink
	wstats *WriterStats // never nil

	tracks []media.Track // stream tracks
	fileOf []int         // stream track -> file track index, -1 if dropped
	ftrack []media.Track // recorded tracks
	ref    int           // file track index of the reference (video) track
	init   []byte

	open     bool         // a segment is open
	segStart time.Time    // wall time of the open segment's start
	tr       []trackState // per file track
	frag     fragState
	seq      uint32
	warnd    map[media.Codec]bool

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

// maxKeyFragment bounds a KeyFragments fragment of a camera whose
// keyframes are further apart (it is cut without one).
const maxKeyFragment = 10 * time.Second

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

func newCutter(camera string, cfg Config, log *slog.Logger, out sink, wstats *WriterStats) cutter {
	return cutter{camera: camera, cfg: cfg, log: log, out: out, wstats: wstats, ref: -1, warnd: map[media.Codec]bool{}}
}

// Stats returns the camera's counters.
func (c *cutter) Stats() *RecorderStats { return &c.stats }

// SetPrevious tells the recorder where the camera's footage ended before
// it was created (e.g. before a hub restart), so the hole is recorded as an
// explicit gap with reason.
func (c *cutter) SetPrevious(end time.Time, reason string) {
	c.prevEnd, c.prevReason = end, reason
}

// Begin implements stream.Reader.
func (c *cutter) Begin(tracks []media.Track) {
	c.finishSegment("reconnect")
	c.tracks = tracks
	c.fileOf = make([]int, len(tracks))
	c.ftrack = c.ftrack[:0]
	c.ref = -1
	for i, t := range tracks {
		c.fileOf[i] = -1
		if !t.Codec.Info().Recordable {
			c.warnOnce(t.Codec, "track not recordable; dropping it")
			continue
		}
		c.fileOf[i] = len(c.ftrack)
		if c.ref < 0 && t.IsVideo() {
			c.ref = len(c.ftrack)
		}
		c.ftrack = append(c.ftrack, t)
	}
	if c.ref < 0 {
		c.init = nil
		c.log.Warn("stream has no recordable video track; not recording", "tracks", len(tracks))
		return
	}
	init, err := segment.Init(c.ftrack)
	if err != nil {
		c.init = nil
		c.log.Error("cannot record stream", "err", err)
		c.ref = -1
		return
	}
	if !bytes.Equal(init, c.init) {
		c.init = init // else keep the same slice: the layout did not change
	}
	c.tr = make([]trackState, len(c.ftrack))
}

func (c *cutter) warnOnce(cd media.Codec, msg string) {
	if !c.warnd[cd] {
		c.warnd[cd] = true
		c.log.Info(msg, "codec", cd.String())
	}
}

// End implements stream.Reader.
func (c *cutter) End() {
	c.finishSegment("reconnect")
	c.tracks, c.ref = nil, -1
}

// Close ends the current segment, flushing its running fragment (used when
// recording is switched off).
func (c *cutter) Close() { c.End() }

// Write implements stream.Reader.
func (c *cutter) Write(au *media.AccessUnit) {
	if au.Track >= len(c.fileOf) || c.ref < 0 {
		return
	}
	ft := c.fileOf[au.Track]
	if ft < 0 {
		c.wstats.IgnoredUnits.Add(1)
		return
	}
	if c.open {
		if lost, failed := c.out.sinkFailed(); failed {
			c.abandon(lost, "write_error")
		}
	}
	if ft == c.ref {
		c.writeRef(au)
		return
	}
	if c.open {
		c.addSample(ft, au)
	}
}

func (c *cutter) writeRef(au *media.AccessUnit) {
	ts := &c.tr[c.ref]
	if c.open && ts.started {
		step := au.DTS - ts.lastDTS
		if step <= 0 || c.ticks(c.ref, step) > maxDTSJump {
			c.log.Warn("camera clock jumped; starting a new segment", "step", c.ticks(c.ref, step))
			c.finishSegment("clock_jump")
		}
	}
	if !c.open {
		if !au.Key {
			if c.dropping {
				c.countDropped(1)
			}
			return
		}
		c.openSegment(au)
	} else {
		c.completeRef(au.DTS)
		elapsedSeg := c.ticks(c.ref, au.DTS-ts.origin)
		if au.Key && elapsedSeg >= c.cfg.SegmentDuration {
			start := c.segStart.Add(elapsedSeg)
			c.finishSegment("")
			c.openSegmentAt(au, start)
		} else if c.frag.open {
			if el := c.ticks(c.ref, au.DTS-c.frag.startDTS); el >= c.cfg.FragmentDuration &&
				(!c.cfg.KeyFragments || au.Key || el >= maxKeyFragment) {
				c.flushFragment(false)
			}
		}
	}
	if c.open {
		c.addSample(c.ref, au)
	}
}

// completeRef gives the reference track's pending sample its duration now
// that the next frame's DTS is known.
func (c *cutter) completeRef(next int64) {
	ts := &c.tr[c.ref]
	if ts.last == nil {
		return
	}
	ts.lastDur = uint32(min(max(next-ts.last.dts, 1), 1<<31))
	c.pushSample(c.ref, ts.lastDur)
}

func (c *cutter) ticks(ft int, n int64) time.Duration {
	if n < 0 {
		return -segment.Ticks(uint64(-n), uint32(c.ftrack[ft].ClockRate))
	}
	return segment.Ticks(uint64(n), uint32(c.ftrack[ft].ClockRate))
}

func (c *cutter) openSegment(au *media.AccessUnit) {
	start := au.Wall
	if cr := c.ftrack[c.ref].ClockRate; cr > 0 && au.PTS > au.DTS {
		start = start.Add(-c.ticks(c.ref, au.PTS-au.DTS))
	}
	c.openSegmentAt(au, start)
}

func (c *cutter) openSegmentAt(au *media.AccessUnit, start time.Time) {
	if !c.prevEnd.IsZero() && start.Sub(c.prevEnd) > gapTolerance {
		reason := c.prevReason
		if reason == "" {
			reason = "reconnect"
		}
		c.out.sinkGap(index.Gap{Camera: c.camera, Start: c.prevEnd, End: start, State: index.GapLost, Reason: reason})
	}
	c.prevEnd, c.prevReason, c.dropping = time.Time{}, "", false
	if !c.out.sinkOpen(start, c.init) {
		return
	}
	c.open, c.segStart = true, start
	c.seq = 0
	for i := range c.tr {
		c.tr[i] = trackState{}
	}
	c.tr[c.ref].origin = au.DTS
	c.tr[c.ref].started = true
	c.tr[c.ref].lastDTS = au.DTS
	c.frag = fragState{}
	c.stats.Segments.Add(1)
}

// addSample appends au to track ft, completing the previous sample of that
// track with its duration.
func (c *cutter) addSample(ft int, au *media.AccessUnit) {
	ts := &c.tr[ft]
	if !ts.started {
		off := au.Wall.Sub(c.segStart)
		if off < 0 {
			return // audio from before the segment's first frame
		}
		ts.origin = au.DTS - int64(off)*int64(c.ftrack[ft].ClockRate)/int64(time.Second)
		ts.started = true
	}
	if au.DTS < ts.origin {
		return
	}
	if ts.last != nil {
		d := au.DTS - ts.last.dts
		if d <= 0 {
			if ft != c.ref {
				return // out-of-order audio: drop
			}
			d = 1
		}
		ts.lastDur = uint32(min(d, 1<<31))
		c.pushSample(ft, ts.lastDur)
	}
	ts.last = &pendSample{dts: au.DTS, pts: au.PTS, key: au.Key, au: au}
	ts.lastDTS = au.DTS
	if ft == c.ref && !c.frag.open {
		c.frag = fragState{startDTS: au.DTS, open: true, key: au.Key}
	}
}

// pushSample moves track ft's pending sample into the current fragment.
func (c *cutter) pushSample(ft int, dur uint32) {
	ts := &c.tr[ft]
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

// flushFragment hands the current fragment to the sink. With final set,
// every track's pending sample is included (nominal duration).
func (c *cutter) flushFragment(final bool) {
	if final {
		for ft := range c.tr {
			if ts := &c.tr[ft]; ts.last != nil {
				d := ts.lastDur
				if d == 0 {
					d = uint32(c.ftrack[ft].ClockRate / 25)
				}
				c.pushSample(ft, d)
			}
		}
	}
	refRun := &c.tr[c.ref]
	if len(refRun.run) == 0 {
		return
	}
	runs := make([]segment.Run, 0, len(c.tr))
	payload := make([][]byte, 0, 64)
	var size int64
	frames := len(refRun.run)
	for ft := range c.tr {
		ts := &c.tr[ft]
		if len(ts.run) == 0 {
			continue
		}
		runs = append(runs, segment.Run{TrackID: uint32(ft + 1), BaseTime: ts.base, Samples: ts.run})
		for _, p := range ts.payload {
			size += int64(len(p))
		}
		payload = append(payload, ts.payload...)
	}
	c.seq++
	hdr := segment.AppendFragmentHeader(make([]byte, 0, 256+frames*16), c.seq, runs)
	var refDur uint64
	for _, s := range refRun.run {
		refDur += uint64(s.Duration)
	}
	start := c.ticks(c.ref, int64(refRun.base))
	f := cutFragment{header: hdr, payload: payload, bytes: size + int64(len(hdr)), frames: frames,
		start: start, dur: c.ticks(c.ref, int64(refDur)),
		end: c.segStart.Add(c.ticks(c.ref, int64(refRun.base+refDur))), key: c.frag.key}
	for ft := range c.tr {
		c.tr[ft].run = nil
		c.tr[ft].payload = nil
		c.tr[ft].prefix = nil
	}
	c.frag.open = false
	if !c.out.sinkFragment(f) {
		c.countDropped(frames)
		c.wstats.DroppedBytes.Add(f.bytes)
		c.dropSegment(c.segStart.Add(start))
		return
	}
	c.stats.Frames.Add(int64(frames))
}

// dropSegment ends the segment after a fragment could not be queued; the
// footage from lostFrom on is recorded as a gap when the next segment opens.
func (c *cutter) dropSegment(lostFrom time.Time) {
	c.out.sinkClose()
	c.open = false
	c.prevEnd, c.prevReason, c.dropping = lostFrom, "overload", true
}

func (c *cutter) countDropped(frames int) {
	c.stats.DroppedFrames.Add(int64(frames))
	c.wstats.DroppedFrames.Add(int64(frames))
}

// abandon ends a segment whose file failed; its footage ends at lost.
func (c *cutter) abandon(lost time.Time, reason string) {
	c.out.sinkClose()
	c.open = false
	c.prevEnd, c.prevReason, c.dropping = lost, reason, true
}

// finishSegment flushes the last fragment and closes the segment.
func (c *cutter) finishSegment(reason string) {
	if !c.open {
		return
	}
	// Close the running fragment with the pending samples of every track.
	c.flushFragment(true)
	if !c.open {
		return // dropped while flushing
	}
	ts := &c.tr[c.ref]
	end := c.segStart.Add(c.ticks(c.ref, ts.lastDTS-ts.origin+int64(ts.lastDur)))
	c.out.sinkClose()
	c.open = false
	c.prevEnd, c.prevReason = end, reason
}
