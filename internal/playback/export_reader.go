package playback

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vigil-video/vigil/internal/blob"
	"github.com/vigil-video/vigil/internal/segment"
)

// exportSeg is one segment file an export reads from.
type exportSeg struct {
	key    string       // blob key
	shifts []trackShift // added to each track's tfdt
}

// exportFrag is one fragment (moof+mdat) of an export.
type exportFrag struct {
	out  int64 // offset in the export
	src  int64 // offset of the moof in the segment file
	size int64 // moof + mdat bytes
	seg  int32 // index into exportLayout.segs
}

// exportLayout is the whole export, planned before the first byte goes
// out: the init block, then the fragments back to back.
type exportLayout struct {
	init   []byte
	tracks []segment.TrackInfo // of the init block
	segs   []exportSeg
	frags  []exportFrag
	size   int64
	// keepSeq leaves the mfhd sequence numbers as stored (a rebased
	// segment file); otherwise fragment k gets k+1.
	keepSeq bool
}

// newLayout starts a layout with an init block.
func newLayout(init []byte) (*exportLayout, error) {
	scan, err := segment.Scan(bytes.NewReader(init), int64(len(init)))
	if err != nil {
		return nil, fmt.Errorf("init block: %w", err)
	}
	return &exportLayout{init: init, tracks: scan.Tracks, size: int64(len(init))}, nil
}

// addClip appends c's fragments, their decode times shifted so that 0 is
// wall time origin.
func (l *exportLayout) addClip(c *clip, origin time.Time) {
	es := exportSeg{key: c.Seg.Path, shifts: make([]trackShift, len(l.tracks))}
	for i, t := range l.tracks {
		es.shifts[i] = trackShift{id: t.ID, ticks: durTicks(c.Seg.Start.Sub(origin), t.Timescale)}
	}
	l.segs = append(l.segs, es)
	for i := c.First; i <= c.Last; i++ {
		off, end := fragBytes(&c.Seg, i)
		l.frags = append(l.frags, exportFrag{out: l.size, src: off, size: end - off, seg: int32(len(l.segs) - 1)})
		l.size += end - off
	}
}

// exportReader is an io.ReadSeeker over an export's layout. It holds one
// segment file open and one patched moof in memory at a time: reading the
// mdat part of a fragment goes from the file straight into the caller's
// buffer.
type exportReader struct {
	ctx   context.Context
	blobs blob.Store
	l     *exportLayout
	pos   int64

	file    blob.ReadAtCloser
	fileSeg int32 // segment of file, -1 when none
	moof    []byte
	moofOf  int // fragment whose patched moof is in moof, -1 when none
	err     error
}

func newExportReader(ctx context.Context, blobs blob.Store, l *exportLayout) *exportReader {
	return &exportReader{ctx: ctx, blobs: blobs, l: l, fileSeg: -1, moofOf: -1}
}

// Read implements io.Reader.
func (r *exportReader) Read(p []byte) (int, error) {
	if r.pos >= r.l.size {
		return 0, io.EOF
	}
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	var n int
	var err error
	if r.pos < int64(len(r.l.init)) {
		n = copy(p, r.l.init[r.pos:])
	} else {
		n, err = r.readFragment(p)
	}
	r.pos += int64(n)
	if err != nil && r.err == nil {
		r.err = err
	}
	return n, err
}

// Seek implements io.Seeker.
func (r *exportReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.l.size
	default:
		return 0, errors.New("export: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("export: seek before start")
	}
	r.pos = offset
	return offset, nil
}

// Close releases the open segment file.
func (r *exportReader) Close() error {
	if r.file == nil {
		return nil
	}
	err := r.file.Close()
	r.file, r.fileSeg = nil, -1
	return err
}

// Err returns the first read error, if any.
func (r *exportReader) Err() error { return r.err }

// fragmentAt returns the index of the fragment holding export byte pos
// (pos must be past the init block).
func (r *exportReader) fragmentAt(pos int64) int {
	if k := r.moofOf; k >= 0 && pos >= r.l.frags[k].out && pos < r.l.frags[k].out+r.l.frags[k].size {
		return k
	}
	lo, hi := 0, len(r.l.frags) // first fragment with out > pos is hi
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if r.l.frags[m].out <= pos {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// readFragment reads from the fragment under r.pos: its patched moof from
// memory, the rest from the segment file.
func (r *exportReader) readFragment(p []byte) (int, error) {
	k := r.fragmentAt(r.pos)
	if err := r.loadMoof(k); err != nil {
		return 0, err
	}
	fr := &r.l.frags[k]
	rel := r.pos - fr.out
	if rel < int64(len(r.moof)) {
		return copy(p, r.moof[rel:]), nil
	}
	want := min(int64(len(p)), fr.size-rel)
	n, err := r.file.ReadAt(p[:want], fr.src+rel)
	if int64(n) == want {
		return n, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, fmt.Errorf("export: read %s at %d: %w", r.l.segs[fr.seg].key, fr.src+rel, err)
}

// loadMoof reads fragment k's moof into r.moof and patches it.
func (r *exportReader) loadMoof(k int) error {
	if r.moofOf == k {
		return nil
	}
	r.moofOf = -1
	fr := &r.l.frags[k]
	if err := r.openSeg(fr.seg); err != nil {
		return err
	}
	key := r.l.segs[fr.seg].key
	var hdr [16]byte
	if fr.size < int64(len(hdr)) {
		return fmt.Errorf("export: %s: fragment at %d is only %d bytes", key, fr.src, fr.size)
	}
	if _, err := r.file.ReadAt(hdr[:], fr.src); err != nil {
		return fmt.Errorf("export: read %s at %d: %w", key, fr.src, err)
	}
	size, _, err := boxHeader(hdr[:])
	if err != nil || string(hdr[4:8]) != "moof" || size > maxMoof || int64(size)+8 > fr.size {
		return fmt.Errorf("export: %s: no usable moof at %d (%q, %d bytes)", key, fr.src, hdr[4:8], size)
	}
	if cap(r.moof) < int(size) {
		r.moof = make([]byte, size, max(int(size), 2*cap(r.moof)))
	}
	r.moof = r.moof[:size]
	if _, err := r.file.ReadAt(r.moof, fr.src); err != nil {
		return fmt.Errorf("export: read %s at %d: %w", key, fr.src, err)
	}
	seq := uint32(k + 1)
	if r.l.keepSeq {
		seq = 0
	}
	if err := patchMoof(r.moof, seq, r.l.segs[fr.seg].shifts); err != nil {
		return fmt.Errorf("export: %s at %d: %w", key, fr.src, err)
	}
	r.moofOf = k
	return nil
}

// openSeg makes segment i's file the open one.
func (r *exportReader) openSeg(i int32) error {
	if r.fileSeg == i {
		return nil
	}
	if err := r.Close(); err != nil {
		return fmt.Errorf("export: close segment: %w", err)
	}
	f, err := r.blobs.Open(r.ctx, r.l.segs[i].key)
	if err != nil {
		return fmt.Errorf("export: open %s: %w", r.l.segs[i].key, err)
	}
	r.file, r.fileSeg = f, i
	return nil
}
