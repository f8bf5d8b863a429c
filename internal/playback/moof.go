package playback

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// maxMoof bounds the moof boxes an export reads into memory. A one-second
// fragment's moof is a few kilobytes (16 bytes per sample).
const maxMoof = 4 << 20

// trackShift is what to add to one track's decode times.
type trackShift struct {
	id    uint32
	ticks int64
}

// boxIter walks the boxes packed in a buffer, yielding each one's type
// and body (a sub-slice: changes go to the buffer).
type boxIter struct {
	buf  []byte
	typ  []byte
	body []byte
	err  error
}

// next moves to the next box; false at the end or on a malformed box
// (then err is set).
func (it *boxIter) next() bool {
	if len(it.buf) == 0 || it.err != nil {
		return false
	}
	size, hdr, err := boxHeader(it.buf)
	if err != nil {
		it.err = err
		return false
	}
	if size > uint64(len(it.buf)) {
		it.err = fmt.Errorf("box %q: size %d past its parent's end", it.buf[4:8], size)
		return false
	}
	it.typ, it.body, it.buf = it.buf[4:8], it.buf[hdr:size], it.buf[size:]
	return true
}

// boxHeader reads the size (whole box) and header length of the box at
// the start of b.
func boxHeader(b []byte) (size uint64, hdr int, err error) {
	if len(b) < 8 {
		return 0, 0, errors.New("truncated box header")
	}
	size, hdr = uint64(binary.BigEndian.Uint32(b)), 8
	if size == 1 {
		if len(b) < 16 {
			return 0, 0, errors.New("truncated box header")
		}
		size, hdr = binary.BigEndian.Uint64(b[8:]), 16
	}
	if size < uint64(hdr) {
		return 0, 0, fmt.Errorf("box %q: bad size %d", b[4:8], size)
	}
	return size, hdr, nil
}

// patchMoof rewrites a moof box in place, keeping its size: the mfhd
// sequence number becomes seq (unless seq is 0) and every traf's tfdt (version 0 or 1) gets
// its track's shift added (clamped at 0). A malformed box, a traf of a
// track not in shifts, or a version 0 tfdt that would overflow 32 bits is
// an error; moof is then partly patched and must not be used.
func patchMoof(moof []byte, seq uint32, shifts []trackShift) error {
	size, hdr, err := boxHeader(moof)
	if err != nil {
		return fmt.Errorf("moof: %w", err)
	}
	if string(moof[4:8]) != "moof" || size != uint64(len(moof)) {
		return fmt.Errorf("moof: box %q of %d bytes in a %d-byte buffer", moof[4:8], size, len(moof))
	}
	it := boxIter{buf: moof[hdr:]}
	var mfhd, trafs int
	for it.next() {
		switch string(it.typ) {
		case "mfhd":
			if len(it.body) < 8 {
				return errors.New("moof: truncated mfhd")
			}
			if seq != 0 {
				binary.BigEndian.PutUint32(it.body[4:], seq)
			}
			mfhd++
		case "traf":
			if err := patchTraf(it.body, shifts); err != nil {
				return fmt.Errorf("moof: %w", err)
			}
			trafs++
		}
	}
	if it.err != nil {
		return fmt.Errorf("moof: %w", it.err)
	}
	if mfhd != 1 || trafs == 0 {
		return fmt.Errorf("moof: %d mfhd and %d traf boxes", mfhd, trafs)
	}
	return nil
}

// patchTraf adds the traf's track shift to its tfdt.
func patchTraf(traf []byte, shifts []trackShift) error {
	var tfhd, tfdt []byte
	it := boxIter{buf: traf}
	for it.next() {
		switch string(it.typ) {
		case "tfhd":
			tfhd = it.body
		case "tfdt":
			tfdt = it.body
		}
	}
	if it.err != nil {
		return fmt.Errorf("traf: %w", it.err)
	}
	if len(tfhd) < 8 || len(tfdt) < 8 {
		return errors.New("traf: missing or truncated tfhd or tfdt")
	}
	id := binary.BigEndian.Uint32(tfhd[4:])
	shift, ok := int64(0), false
	for _, s := range shifts {
		if s.id == id {
			shift, ok = s.ticks, true
			break
		}
	}
	if !ok {
		return fmt.Errorf("traf: track %d is not in the init block", id)
	}
	return shiftTfdt(tfdt, shift)
}

// shiftTfdt adds shift to a tfdt body's base media decode time.
func shiftTfdt(tfdt []byte, shift int64) error {
	switch tfdt[0] {
	case 1:
		if len(tfdt) < 12 {
			return errors.New("tfdt: truncated")
		}
		old := binary.BigEndian.Uint64(tfdt[4:])
		if old > math.MaxInt64/2 {
			return fmt.Errorf("tfdt: decode time %d out of range", old)
		}
		binary.BigEndian.PutUint64(tfdt[4:], uint64(addClamp(int64(old), shift)))
	case 0:
		v := addClamp(int64(binary.BigEndian.Uint32(tfdt[4:])), shift)
		if v > math.MaxUint32 {
			return fmt.Errorf("tfdt: version 0 cannot hold decode time %d", v)
		}
		binary.BigEndian.PutUint32(tfdt[4:], uint32(v))
	default:
		return fmt.Errorf("tfdt: unknown version %d", tfdt[0])
	}
	return nil
}

// addClamp returns a+b clamped to [0, MaxInt64/2]; a >= 0 and |b| is far
// below MaxInt64/2 in practice, but nothing here may overflow.
func addClamp(a, b int64) int64 {
	const hi = math.MaxInt64 / 2
	b = max(min(b, hi), -hi)
	return max(min(a+b, hi), 0)
}
