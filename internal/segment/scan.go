package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrNotSegment is returned when a file does not start with an init block.
var ErrNotSegment = errors.New("not an fMP4 segment")

// maxBox bounds the boxes the scanner will read into memory (moov, moof).
const maxBox = 16 << 20

// TrackInfo is what the scanner learns about a track from the init block.
type TrackInfo struct {
	ID        uint32
	Timescale uint32
	Video     bool
}

// FragmentInfo locates one complete fragment.
type FragmentInfo struct {
	Offset int64 // of the moof box
	Size   int64 // moof + mdat + the padding after them (free boxes)
	// BaseTime and Duration of the reference track (first video track, else
	// first track), in its timescale.
	BaseTime uint64
	Duration uint64
	// Key is true when the reference track's first sample is a sync sample.
	Key     bool
	Samples int // samples of the reference track
}

// ScanResult describes a segment file as found on disk.
type ScanResult struct {
	InitSize  int64
	Tracks    []TrackInfo
	RefTrack  int // index into Tracks
	Fragments []FragmentInfo
	// ValidSize is the length of the file's valid prefix: the init block
	// and every complete fragment. Anything after it is a torn write.
	ValidSize int64
	// Tail says why scanning stopped before the end of the file (nil when
	// the whole file is valid).
	Tail error
}

// Timescale returns the reference track's timescale.
func (r *ScanResult) Timescale() uint32 { return r.Tracks[r.RefTrack].Timescale }

// Duration returns the time covered from the first fragment's start to the
// end of the last one.
func (r *ScanResult) Duration() time.Duration {
	if len(r.Fragments) == 0 {
		return 0
	}
	first, last := r.Fragments[0], r.Fragments[len(r.Fragments)-1]
	return Ticks(last.BaseTime+last.Duration-first.BaseTime, r.Timescale())
}

// Ticks converts a count of timescale units to a duration.
func Ticks(n uint64, timescale uint32) time.Duration {
	if timescale == 0 {
		return 0
	}
	sec := n / uint64(timescale)
	rem := n % uint64(timescale)
	return time.Duration(sec)*time.Second + time.Duration(rem*uint64(time.Second)/uint64(timescale))
}

type boxHeader struct {
	typ     string
	size    int64 // whole box
	hdrSize int64
}

func readBoxHeader(r io.ReaderAt, off, end int64) (boxHeader, error) {
	var b [16]byte
	if end-off < 8 {
		return boxHeader{}, io.ErrUnexpectedEOF
	}
	if _, err := r.ReadAt(b[:8], off); err != nil {
		return boxHeader{}, fmt.Errorf("read box header at %d: %w", off, err)
	}
	h := boxHeader{typ: string(b[4:8]), size: int64(binary.BigEndian.Uint32(b[:4])), hdrSize: 8}
	if h.size == 1 {
		if end-off < 16 {
			return boxHeader{}, io.ErrUnexpectedEOF
		}
		if _, err := r.ReadAt(b[8:16], off+8); err != nil {
			return boxHeader{}, fmt.Errorf("read box size at %d: %w", off, err)
		}
		h.size, h.hdrSize = int64(binary.BigEndian.Uint64(b[8:16])), 16
	}
	if h.size < h.hdrSize {
		return boxHeader{}, fmt.Errorf("box %q at %d: bad size %d", h.typ, off, h.size)
	}
	if off+h.size > end {
		return boxHeader{}, fmt.Errorf("box %q at %d: %w", h.typ, off, io.ErrUnexpectedEOF)
	}
	return h, nil
}

func readBox(r io.ReaderAt, off int64, h boxHeader) ([]byte, error) {
	if h.size > maxBox {
		return nil, fmt.Errorf("box %q at %d: too large (%d bytes)", h.typ, off, h.size)
	}
	buf := make([]byte, h.size-h.hdrSize)
	if _, err := r.ReadAt(buf, off+h.hdrSize); err != nil {
		return nil, fmt.Errorf("read box %q at %d: %w", h.typ, off, err)
	}
	return buf, nil
}

// Scan reads a segment file of the given size and reports its init block
// and every complete fragment. It fails only when the init block itself is
// unusable; a torn or corrupt tail is reported in ScanResult.Tail.
func Scan(r io.ReaderAt, size int64) (*ScanResult, error) {
	res := &ScanResult{}
	off, err := scanInit(r, size, res)
	if err != nil {
		return nil, err
	}
	res.InitSize, res.ValidSize = off, off
	for off < size {
		frag, err := scanFragment(r, off, size, res)
		if err != nil {
			res.Tail = err
			break
		}
		res.Fragments = append(res.Fragments, frag)
		off += frag.Size
		res.ValidSize = off
	}
	return res, nil
}

func scanInit(r io.ReaderAt, size int64, res *ScanResult) (int64, error) {
	h, err := readBoxHeader(r, 0, size)
	if err != nil || h.typ != "ftyp" {
		return 0, fmt.Errorf("%w: no ftyp box", ErrNotSegment)
	}
	off := h.size
	h, err = readBoxHeader(r, off, size)
	if err != nil || h.typ != "moov" {
		return 0, fmt.Errorf("%w: no complete moov box after ftyp", ErrNotSegment)
	}
	moov, err := readBox(r, off, h)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNotSegment, err)
	}
	if err := parseMoov(moov, res); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNotSegment, err)
	}
	return skipPadding(r, off+h.size, size), nil
}

// skipPadding returns the offset past the complete free/skip boxes at off
// (the recorder pads the init block and every fragment to segment.Align).
func skipPadding(r io.ReaderAt, off, size int64) int64 {
	for {
		h, err := readBoxHeader(r, off, size)
		if err != nil || !isPadding(h.typ) {
			return off
		}
		off += h.size
	}
}

// children iterates over the boxes packed in buf.
func children(buf []byte, fn func(typ string, body []byte) error) error {
	for len(buf) > 0 {
		if len(buf) < 8 {
			return errors.New("truncated box header")
		}
		size := uint64(binary.BigEndian.Uint32(buf))
		typ := string(buf[4:8])
		hdr := uint64(8)
		if size == 1 {
			if len(buf) < 16 {
				return errors.New("truncated box header")
			}
			size, hdr = binary.BigEndian.Uint64(buf[8:]), 16
		}
		if size < hdr || size > uint64(len(buf)) {
			return fmt.Errorf("box %q: bad size %d", typ, size)
		}
		if err := fn(typ, buf[hdr:size]); err != nil {
			return err
		}
		buf = buf[size:]
	}
	return nil
}

func parseMoov(moov []byte, res *ScanResult) error {
	err := children(moov, func(typ string, body []byte) error {
		if typ != "trak" {
			return nil
		}
		t, err := parseTrak(body)
		if err != nil {
			return err
		}
		res.Tracks = append(res.Tracks, t)
		return nil
	})
	if err != nil {
		return err
	}
	if len(res.Tracks) == 0 {
		return errors.New("moov has no tracks")
	}
	res.RefTrack = 0
	for i, t := range res.Tracks {
		if t.Video {
			res.RefTrack = i
			break
		}
	}
	return nil
}

// fullBoxField reads a u32 at the offset that depends on the box version
// (v0 offset, v1 offset), after the 4-byte version+flags.
func fullBoxField(body []byte, v0, v1 int) (uint32, error) {
	if len(body) < 4 {
		return 0, errors.New("truncated full box")
	}
	o := v0
	if body[0] == 1 {
		o = v1
	}
	if len(body) < o+4 {
		return 0, errors.New("truncated full box")
	}
	return binary.BigEndian.Uint32(body[o:]), nil
}

func parseTrak(trak []byte) (TrackInfo, error) {
	var t TrackInfo
	err := children(trak, func(typ string, body []byte) error {
		var err error
		switch typ {
		case "tkhd":
			t.ID, err = fullBoxField(body, 12, 20)
		case "mdia":
			err = children(body, func(typ string, body []byte) error {
				var err error
				switch typ {
				case "mdhd":
					t.Timescale, err = fullBoxField(body, 12, 20)
				case "hdlr":
					if len(body) < 12 {
						return errors.New("truncated hdlr")
					}
					t.Video = string(body[8:12]) == "vide"
				}
				return err
			})
		}
		return err
	})
	if err != nil {
		return t, fmt.Errorf("trak: %w", err)
	}
	if t.ID == 0 || t.Timescale == 0 {
		return t, errors.New("trak without track id or timescale")
	}
	return t, nil
}

func scanFragment(r io.ReaderAt, off, size int64, res *ScanResult) (FragmentInfo, error) {
	h, err := readBoxHeader(r, off, size)
	if err != nil {
		return FragmentInfo{}, err
	}
	if h.typ != "moof" {
		return FragmentInfo{}, fmt.Errorf("box %q at %d: expected moof", h.typ, off)
	}
	moof, err := readBox(r, off, h)
	if err != nil {
		return FragmentInfo{}, err
	}
	mh, err := readBoxHeader(r, off+h.size, size)
	if err != nil {
		return FragmentInfo{}, fmt.Errorf("mdat after moof at %d: %w", off, err)
	}
	if mh.typ != "mdat" {
		return FragmentInfo{}, fmt.Errorf("box %q at %d: expected mdat", mh.typ, off+h.size)
	}
	// The fragment's size includes the padding after it.
	end := skipPadding(r, off+h.size+mh.size, size)
	frag := FragmentInfo{Offset: off, Size: end - off}
	if err := parseMoof(moof, res.Tracks[res.RefTrack].ID, &frag, mh.size-mh.hdrSize); err != nil {
		return FragmentInfo{}, fmt.Errorf("moof at %d: %w", off, err)
	}
	return frag, nil
}

func parseMoof(moof []byte, ref uint32, frag *FragmentInfo, mdatData int64) error {
	found := false
	var total int64
	err := children(moof, func(typ string, body []byte) error {
		if typ != "traf" {
			return nil
		}
		tr, err := parseTraf(body)
		if err != nil {
			return err
		}
		total += tr.bytes
		if tr.trackID == ref && !found {
			found = true
			frag.BaseTime, frag.Duration, frag.Key, frag.Samples = tr.base, tr.duration, tr.key, tr.samples
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !found {
		return errors.New("no run for the reference track")
	}
	if total > mdatData {
		return fmt.Errorf("samples need %d bytes, mdat holds %d", total, mdatData)
	}
	return nil
}

type trafInfo struct {
	trackID  uint32
	base     uint64
	duration uint64
	bytes    int64
	samples  int
	key      bool
}

func parseTraf(traf []byte) (trafInfo, error) {
	var ti trafInfo
	var haveTfdt, haveTrun bool
	err := children(traf, func(typ string, body []byte) error {
		switch typ {
		case "tfhd":
			if len(body) < 8 {
				return errors.New("truncated tfhd")
			}
			ti.trackID = binary.BigEndian.Uint32(body[4:])
		case "tfdt":
			if len(body) < 8 {
				return errors.New("truncated tfdt")
			}
			haveTfdt = true
			if body[0] == 1 {
				if len(body) < 12 {
					return errors.New("truncated tfdt")
				}
				ti.base = binary.BigEndian.Uint64(body[4:])
			} else {
				ti.base = uint64(binary.BigEndian.Uint32(body[4:]))
			}
		case "trun":
			haveTrun = true
			return parseTrun(body, &ti)
		}
		return nil
	})
	if err == nil && (!haveTfdt || !haveTrun) {
		err = errors.New("traf without tfdt or trun")
	}
	return ti, err
}

func parseTrun(body []byte, ti *trafInfo) error {
	if len(body) < 8 {
		return errors.New("truncated trun")
	}
	flags := binary.BigEndian.Uint32(body) & 0xFFFFFF
	count := binary.BigEndian.Uint32(body[4:])
	p := 8
	if flags&trunDataOffset != 0 {
		p += 4
	}
	if flags&0x04 != 0 { // first-sample-flags-present
		p += 4
	}
	entry := 0
	for _, f := range []uint32{trunDuration, trunSize, trunFlags, trunCTO} {
		if flags&f != 0 {
			entry += 4
		}
	}
	if flags&(trunDuration|trunSize) != trunDuration|trunSize {
		return errors.New("trun without per-sample durations and sizes")
	}
	if uint64(count)*uint64(entry) > uint64(len(body)-min(p, len(body))) || p > len(body) {
		return fmt.Errorf("trun of %d samples is truncated", count)
	}
	ti.samples = int(count)
	for i := 0; i < int(count); i++ {
		e := body[p+i*entry:]
		ti.duration += uint64(binary.BigEndian.Uint32(e))
		ti.bytes += int64(binary.BigEndian.Uint32(e[4:]))
		if i == 0 {
			ti.key = flags&trunFlags == 0 || binary.BigEndian.Uint32(e[8:])&sampleNonSync == 0
		}
	}
	return nil
}
