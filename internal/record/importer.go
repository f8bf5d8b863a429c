package record

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/segment"
)

// discontinuity is how far an imported fragment may start after the
// previous one's end and still continue its segment.
const discontinuity = 500 * time.Millisecond

// backTolerance is how far an imported fragment may start before the
// previous one's end (rounding) and still continue its segment.
const backTolerance = time.Millisecond

// ImportIndex is what an Importer reads from the index (its writes go
// through the Writer).
type ImportIndex interface {
	LastImported(ctx context.Context, camera, origin string) (seq uint64, end time.Time, err error)
}

// Imported is one fragment uploaded by a gateway (see Fragment).
type Imported struct {
	Seq      uint64 // the spool's sequence number, from 1
	Init     []byte // ftyp+moov
	Data     []byte // moof+mdat
	Start    time.Time
	Duration time.Duration
	Key      bool
}

// Importer stores one camera's fragments uploaded from one gateway spool
// (origin) into the hub's normal recordings, through the Writer's lanes
// and group commit. Each (camera, origin, seq) is stored at most once.
//
// Hub segments are cut when the init changes, at a seq hole, at a time
// discontinuity, and at the first keyframe fragment past the segment
// duration. Every fragment is patched (mfhd sequence, every track's tfdt)
// so the file looks recorded by the hub.
type Importer struct {
	w      *Writer
	idx    ImportIndex
	camera string
	origin string
	log    *slog.Logger
	lane   *lane
	queued atomic.Int64
	space  chan struct{}

	mu      sync.Mutex // serializes Import and Close
	loaded  atomic.Bool
	last    uint64    // highest seq accepted (queued or stored)
	lastEnd time.Time // end of that fragment
	layout  *importLayout
	seg     *importSeg

	cmu          sync.Mutex // commit state; never held while taking a segFile's mu
	committed    uint64     // every seq up to it is durable and committed (or was never sent)
	committedEnd time.Time
	accepted     uint64
	outstanding  []*importSeg // segments with fragments not yet committed, in order
	failErr      error
	changed      chan struct{} // closed and replaced on every commit or failure
}

// importSeg is one hub segment being written by an importer.
type importSeg struct {
	f      *segFile
	layout *importLayout
	start  time.Time
	mfhd   uint32
	next   map[uint32]int64 // per track: tfdt right after the last run
	// under Importer.cmu:
	queuedFrags    int
	committedFrags int
	committedEnd   time.Time
	closed         bool
}

// NewImporter returns the importer of camera's fragments from the spool
// origin. The writer keeps one per (camera, origin) for its lifetime and
// returns that same one when asked again (idx and log are then those of
// the first call), so an importer asked for again after Close, e.g. after
// a failed upload, knows what the previous use queued and never stores a
// fragment twice.
func (w *Writer) NewImporter(camera, origin string, idx ImportIndex, log *slog.Logger) *Importer {
	key := camera + "\x00" + origin
	w.impMu.Lock()
	defer w.impMu.Unlock()
	if im := w.imps[key]; im != nil {
		return im
	}
	im := &Importer{w: w, idx: idx, camera: camera, origin: origin, log: log, lane: w.laneOf(camera),
		space: make(chan struct{}, 1), changed: make(chan struct{})}
	if w.imps == nil {
		w.imps = map[string]*Importer{}
	}
	w.imps[key] = im
	return im
}

// Import stores one fragment, blocking while the writer's queue for this
// camera is full (until ctx ends). A duplicate (seq at or below the highest
// seq already imported) returns stored=false and no error. A fragment that
// is not one valid moof+mdat for its init returns an error wrapping
// ErrBadFragment and stores nothing.
func (im *Importer) Import(ctx context.Context, f Imported) (stored bool, err error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if err := im.load(ctx); err != nil {
		return false, err
	}
	if err := im.recoverFailure(ctx); err != nil {
		return false, err
	}
	if f.Seq == 0 {
		return false, badFragment("seq 0")
	}
	if f.Seq <= im.last {
		return false, nil
	}
	layout := im.layout
	if layout == nil || !bytes.Equal(layout.init, f.Init) {
		if layout, err = parseInit(f.Init); err != nil {
			return false, err
		}
		layout.init = append([]byte(nil), f.Init...)
	}
	fi, err := parseFragment(layout, f.Data)
	if err != nil {
		return false, err
	}
	if err := checkFragment(layout, fi, f); err != nil {
		return false, err
	}
	im.layout = layout

	hole := im.last > 0 && f.Seq > im.last+1
	var jump time.Duration
	if !im.lastEnd.IsZero() {
		jump = f.Start.Sub(im.lastEnd)
	}
	broken := jump > discontinuity || jump < -backTolerance
	if im.last > 0 && !im.lastEnd.IsZero() && f.Start.After(im.lastEnd) && (hole || jump > discontinuity) {
		reason := "reconnect"
		if hole {
			reason = "dropped_at_site"
		}
		im.w.submit(im.lane, job{kind: jobGap, gap: index.Gap{Camera: im.camera, Start: im.lastEnd, End: f.Start,
			State: index.GapLost, Reason: reason}})
	}
	if s := im.seg; s == nil || s.layout != layout || hole || broken ||
		(f.Key && f.Start.Sub(s.start) >= im.w.cfg.SegmentDuration) {
		im.closeSeg()
		if err := im.openSeg(layout, f); err != nil {
			return false, err
		}
	}
	s := im.seg
	data := append([]byte(nil), f.Data...)
	s.mfhd++
	binary.BigEndian.PutUint32(data[fi.seqOff:], s.mfhd)
	if data, err = s.rebase(layout, fi, data, f.Start); err != nil {
		s.mfhd--
		return false, err
	}
	im.cmu.Lock()
	s.queuedFrags++
	im.cmu.Unlock()
	j := job{kind: jobFragment, seg: s.f, queued: &im.queued, space: im.space, header: data, bytes: int64(len(data)),
		frag: index.Fragment{Start: f.Start.Sub(s.start), Key: f.Key}, end: f.Start.Add(f.Duration)}
	if err := im.w.submitWait(ctx, im.lane, j); err != nil {
		im.cmu.Lock()
		s.queuedFrags--
		im.cmu.Unlock()
		s.mfhd--
		return false, fmt.Errorf("import fragment %d of %s: %w", f.Seq, im.camera, err)
	}
	im.last, im.lastEnd = f.Seq, f.Start.Add(f.Duration)
	im.cmu.Lock()
	im.accepted = f.Seq
	im.cmu.Unlock()
	return true, nil
}

// checkFragment compares what the upload says with what the moof says.
func checkFragment(l *importLayout, fi *fragInfo, f Imported) error {
	r := fi.ref(l.ref)
	if r.sync != f.Key {
		return badFragment("key %v but the first video sample's sync flag says %v", f.Key, r.sync)
	}
	d := segment.Ticks(r.duration, l.tracks[l.ref].Timescale) - f.Duration
	if d > time.Millisecond || d < -time.Millisecond {
		return badFragment("duration %v but the video samples last %v", f.Duration, f.Duration+d)
	}
	if f.Start.IsZero() {
		return badFragment("no start time")
	}
	return nil
}

// load reads the highest stored seq from the index on first use.
func (im *Importer) load(ctx context.Context) error {
	if im.loaded.Load() {
		return nil
	}
	seq, end, err := im.idx.LastImported(ctx, im.camera, im.origin)
	if err != nil {
		return fmt.Errorf("import %s from %s: %w", im.camera, im.origin, err)
	}
	im.last, im.lastEnd = seq, end
	im.cmu.Lock()
	im.committed, im.committedEnd, im.accepted = seq, end, seq
	im.cmu.Unlock()
	im.loaded.Store(true)
	return nil
}

func (im *Importer) openSeg(l *importLayout, f Imported) error {
	sf := &segFile{camera: im.camera, key: segment.Key(im.camera, f.Start), start: f.Start, codecs: l.codecs,
		origin: im.origin, firstSeq: f.Seq, imp: im}
	s := &importSeg{f: sf, layout: l, start: f.Start, next: map[uint32]int64{}}
	im.cmu.Lock()
	failed := im.failErr
	im.outstanding = append(im.outstanding, s)
	im.cmu.Unlock()
	if failed != nil {
		// an earlier segment failed after this Import checked: nothing
		// past the failure may be committed (see onFail; a failure after
		// the unlock finds s in outstanding)
		sf.failBehind(failed)
	}
	if !im.w.submit(im.lane, job{kind: jobOpen, seg: sf, header: l.init}) {
		im.cmu.Lock()
		im.outstanding = im.outstanding[:len(im.outstanding)-1]
		im.cmu.Unlock()
		return fmt.Errorf("import %s: %w", im.camera, ErrWriterClosed)
	}
	im.seg = s
	return nil
}

func (im *Importer) closeSeg() {
	s := im.seg
	if s == nil {
		return
	}
	im.seg = nil
	im.w.submit(im.lane, job{kind: jobClose, seg: s.f})
	im.cmu.Lock()
	s.closed = true
	im.advance()
	im.cmu.Unlock()
}

// rebase rewrites every traf's tfdt so that the video's equals the
// fragment's start from the segment start (kept contiguous with the
// previous fragment within a tick) and every track keeps its offset to the
// video. The moof is patched in place; only when a segment's first
// fragment holds audio from before its first video sample is the fragment
// rebuilt without those samples, as the hub's recorder would have cut it.
// It returns the fragment to store.
func (s *importSeg) rebase(l *importLayout, fi *fragInfo, data []byte, start time.Time) ([]byte, error) {
	ref := fi.ref(l.ref)
	vts := int64(l.tracks[l.ref].Timescale)
	want := max(durTicks(start.Sub(s.start), vts), 0)
	if n, ok := s.next[l.ref]; ok && abs64(want-n) <= 1 {
		want = n
	}
	shift := want - int64(ref.base) // in video ticks
	bases := make([]int64, len(fi.trafs))
	drop := make([]int, len(fi.trafs))
	rebuild := false
	for i := range fi.trafs {
		tp := &fi.trafs[i]
		ts := int64(l.tracks[tp.track].Timescale)
		v := want
		if tp.track != l.ref {
			v = int64(tp.base) + roundDiv(shift*ts, vts)
			if n, ok := s.next[tp.track]; ok && abs64(v-n) <= 1 {
				v = n
			}
			for v < 0 && drop[i] < len(tp.entries) { // before the segment's first video sample
				v += int64(tp.entries[drop[i]].Duration)
				drop[i]++
				rebuild = true
			}
		}
		if !tp.tfdtV1 && v > math.MaxUint32 {
			return nil, badFragment("tfdt %d does not fit a version 0 tfdt", v)
		}
		bases[i] = v
	}
	for i := range fi.trafs {
		tp := &fi.trafs[i]
		if drop[i] < len(tp.entries) {
			end := bases[i]
			for _, e := range tp.entries[drop[i]:] {
				end += int64(e.Duration)
			}
			s.next[tp.track] = end
		}
		if rebuild {
			continue
		}
		if tp.tfdtV1 {
			binary.BigEndian.PutUint64(data[tp.tfdtOff:], uint64(bases[i]))
		} else {
			binary.BigEndian.PutUint32(data[tp.tfdtOff:], uint32(bases[i]))
		}
	}
	if !rebuild {
		return data, nil
	}
	runs := make([]segment.Run, 0, len(fi.trafs))
	var payload [][]byte
	for i := range fi.trafs {
		tp := &fi.trafs[i]
		if drop[i] == len(tp.entries) {
			continue
		}
		var skip int64
		for _, e := range tp.entries[:drop[i]] {
			skip += int64(e.Size)
		}
		runs = append(runs, segment.Run{TrackID: tp.track, BaseTime: uint64(bases[i]), Samples: tp.entries[drop[i]:]})
		payload = append(payload, data[tp.dataOff+skip:tp.dataOff+tp.dataLen])
	}
	out := segment.AppendFragmentHeader(make([]byte, 0, len(data)), binary.BigEndian.Uint32(data[fi.seqOff:]), runs)
	for _, p := range payload {
		out = append(out, p...)
	}
	return out, nil
}

// durTicks converts d to ticks of timescale ts, rounded to the nearest.
func durTicks(d time.Duration, ts int64) int64 {
	sec, rem := int64(d/time.Second), int64(d%time.Second)
	return sec*ts + roundDiv(rem*ts, int64(time.Second))
}

func roundDiv(a, b int64) int64 {
	if a < 0 {
		return -((-a + b/2) / b)
	}
	return (a + b/2) / b
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// onCommit is called by the writer's syncer: n more fragments of seg are
// durable and committed, the last one ending at end.
func (im *Importer) onCommit(sf *segFile, n int, end time.Time) {
	im.cmu.Lock()
	defer im.cmu.Unlock()
	for _, s := range im.outstanding {
		if s.f == sf {
			s.committedFrags += n
			s.committedEnd = end
		}
	}
	im.advance()
	im.signal()
}

// onFail is called by the writer when one of the importer's segments
// failed: fragments queued for it are lost. The segments queued after it
// fail with it, before the writer gets to them (it calls onFail from the
// camera's lane, whose jobs run in order): were their fragments
// committed, the index would hold fragments past a hole, and a hub
// restarted before the gateway re-sent the hole would resume after them
// and never ask for it again.
func (im *Importer) onFail(sf *segFile, err error) {
	im.cmu.Lock()
	if im.failErr == nil {
		im.failErr = err
	}
	var later []*segFile
	for i, s := range im.outstanding {
		if s.f == sf {
			for _, l := range im.outstanding[i+1:] {
				later = append(later, l.f)
			}
			break
		}
	}
	im.signal()
	im.cmu.Unlock()
	for _, l := range later { // segFile.mu after cmu, never inside it (afterCommit's order)
		l.failBehind(err)
	}
}

func (im *Importer) signal() {
	close(im.changed)
	im.changed = make(chan struct{})
}

// advance moves the committed watermark through the outstanding segments,
// in order. Caller holds cmu.
func (im *Importer) advance() {
	for len(im.outstanding) > 0 {
		s := im.outstanding[0]
		if s.committedFrags > 0 {
			im.committed = s.f.firstSeq + uint64(s.committedFrags) - 1
			im.committedEnd = s.committedEnd
		}
		if !s.closed || s.committedFrags < s.queuedFrags || s.f.failed.Load() {
			return
		}
		im.outstanding = im.outstanding[1:]
	}
}

// recoverFailure handles a write failure: once what was written before it
// is committed, import resumes after the last committed seq, so the
// gateway's re-sent fragments are stored again.
func (im *Importer) recoverFailure(ctx context.Context) error {
	im.cmu.Lock()
	failed := im.failErr
	im.cmu.Unlock()
	if failed == nil {
		return nil
	}
	im.closeSeg()
	im.cmu.Lock()
	segs := append([]*importSeg(nil), im.outstanding...)
	im.cmu.Unlock()
	for _, s := range segs {
		// onFail stopped the segments behind the failed one before the
		// writer reached them: only what came before it is committed
		if err := waitPending(ctx, im, s.f); err != nil {
			return err
		}
	}
	im.cmu.Lock()
	defer im.cmu.Unlock()
	im.advance()
	im.outstanding = nil
	im.last, im.lastEnd, im.accepted = im.committed, im.committedEnd, im.committed
	im.failErr = nil
	im.log.Warn("recording of imported fragments failed; resuming after the last committed one",
		"camera", im.camera, "seq", im.committed, "err", failed)
	return nil
}

// waitPending waits until sf has no written fragment left to commit.
func waitPending(ctx context.Context, im *Importer, sf *segFile) error {
	for {
		im.cmu.Lock()
		ch := im.changed
		im.cmu.Unlock()
		sf.mu.Lock()
		n := len(sf.pending)
		sf.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for committed fragments: %w", ctx.Err())
		case <-ch:
		}
	}
}

// Flush waits until every fragment Import stored is durable and committed
// to the index and returns the highest seq that is (0 if none): what the
// hub acknowledges to the gateway. After a write failure it returns the
// last committed seq and the failure; the gateway re-sends from there.
func (im *Importer) Flush(ctx context.Context) (uint64, error) {
	if !im.loaded.Load() {
		im.mu.Lock()
		err := im.load(ctx)
		im.mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
	im.cmu.Lock()
	defer im.cmu.Unlock()
	target := im.accepted
	for im.committed < target && im.failErr == nil {
		ch := im.changed
		im.cmu.Unlock()
		select {
		case <-ctx.Done():
			im.cmu.Lock()
			return im.committed, fmt.Errorf("flush imported fragments: %w", ctx.Err())
		case <-ch:
		}
		im.cmu.Lock()
	}
	if im.failErr != nil {
		return im.committed, fmt.Errorf("flush imported fragments of %s: %w", im.camera, im.failErr)
	}
	return im.committed, nil
}

// Close ends the open segment. The importer may be used again afterwards.
func (im *Importer) Close() {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.closeSeg()
}
