package sqlite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// Fragment list encoding (segments.fragments), see docs/format/index.md:
//
//	blob     = "" | version entry*
//	version  = 0x01
//	entry    = uvarint(offsetDelta<<1 | key) varint(startDeltaMicros)
//
// Deltas are taken from the previous entry (from offset 0 and start 0 for
// the first), so appending needs only the last fragment, not the list.
// Offsets never decrease; starts are signed (zig-zag) deltas and have
// microsecond precision.
const fragVersion1 = 0x01

// maxStartMicros bounds decoded starts so they fit in a time.Duration.
const maxStartMicros = math.MaxInt64 / int64(time.Microsecond)

var (
	errFragVersion = errors.New("unknown fragment encoding version")
	errFragVarint  = errors.New("truncated or overlong varint")
	errFragRange   = errors.New("fragment out of range")
	errFragOrder   = errors.New("fragment offsets must not decrease")
)

// appendFragments encodes frs after dst, an encoded list (possibly empty)
// whose last fragment is prev (zero when dst is empty). The result is
// never nil, so it is never stored as NULL.
func appendFragments(dst []byte, prev index.Fragment, frs []index.Fragment) ([]byte, error) {
	if dst == nil {
		dst = []byte{}
	}
	if len(frs) == 0 {
		return dst, nil
	}
	if len(dst) == 0 {
		dst = append(dst, fragVersion1)
		prev = index.Fragment{}
	}
	prevUS := prev.Start.Microseconds()
	for _, f := range frs {
		if f.Offset < prev.Offset {
			return nil, fmt.Errorf("encode fragment at %d: %w", f.Offset, errFragOrder)
		}
		key := uint64(0)
		if f.Key {
			key = 1
		}
		// Offsets are non-negative int64, so the shift cannot overflow.
		dst = binary.AppendUvarint(dst, uint64(f.Offset-prev.Offset)<<1|key)
		us := f.Start.Microseconds()
		dst = binary.AppendVarint(dst, us-prevUS)
		prev, prevUS = f, us
	}
	return dst, nil
}

// encodeFragments encodes a whole list.
func encodeFragments(frs []index.Fragment) ([]byte, error) {
	return appendFragments(nil, index.Fragment{}, frs)
}

// decodeFragments decodes an encoded list. An empty blob is an empty list.
func decodeFragments(b []byte) ([]index.Fragment, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if b[0] != fragVersion1 {
		return nil, fmt.Errorf("decode fragments: %w %d", errFragVersion, b[0])
	}
	b = b[1:]
	// Every entry takes at least two bytes.
	out := make([]index.Fragment, 0, len(b)/2)
	var off, us int64
	for len(b) > 0 {
		f, n, err := decodeEntry(b, off, us)
		if err != nil {
			return nil, fmt.Errorf("decode fragment %d: %w", len(out), err)
		}
		out = append(out, f)
		off, us, b = f.Offset, f.Start.Microseconds(), b[n:]
	}
	return out, nil
}

// decodeEntry decodes one entry following a fragment at (off, us).
func decodeEntry(b []byte, off, us int64) (index.Fragment, int, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return index.Fragment{}, 0, errFragVarint
	}
	d, m := binary.Varint(b[n:])
	if m <= 0 {
		return index.Fragment{}, 0, errFragVarint
	}
	delta := v >> 1
	if delta > uint64(math.MaxInt64-off) {
		return index.Fragment{}, 0, errFragRange
	}
	start, ok := addMicros(us, d)
	if !ok {
		return index.Fragment{}, 0, errFragRange
	}
	f := index.Fragment{
		Offset: off + int64(delta),
		Start:  time.Duration(start) * time.Microsecond,
		Key:    v&1 == 1,
	}
	return f, n + m, nil
}

// addMicros adds a start delta, refusing results outside a Duration.
func addMicros(us, d int64) (int64, bool) {
	if (d > 0 && us > maxStartMicros-d) || (d < 0 && us < -maxStartMicros-d) {
		return 0, false
	}
	return us + d, true
}

// lastFragment returns the last fragment of an encoded list (zero when
// empty), for appending.
func lastFragment(b []byte) (index.Fragment, error) {
	frs, err := decodeFragments(b)
	if err != nil || len(frs) == 0 {
		return index.Fragment{}, err
	}
	return frs[len(frs)-1], nil
}
