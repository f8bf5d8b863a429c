package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/segment"
)

// ErrBadFragment is returned (wrapped) for an imported fragment that is not
// one valid moof+mdat for its init block.
var ErrBadFragment = errors.New("record: bad fragment")

// importLayout is a parsed init block.
type importLayout struct {
	init   []byte
	tracks map[uint32]segment.TrackInfo
	ref    uint32
	codecs string
}

func badFragment(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadFragment, fmt.Sprintf(format, args...))
}

// parseInit checks an init block (ftyp+moov and nothing else) and learns
// its tracks and codecs.
func parseInit(init []byte) (*importLayout, error) {
	res, err := segment.Scan(bytes.NewReader(init), int64(len(init)))
	if err != nil {
		return nil, badFragment("init: %v", err)
	}
	if res.InitSize != int64(len(init)) {
		return nil, badFragment("init: %d bytes after ftyp+moov", int64(len(init))-res.InitSize)
	}
	if !res.Tracks[res.RefTrack].Video {
		return nil, badFragment("init has no video track")
	}
	names, err := initCodecs(init[:res.InitSize])
	if err != nil {
		return nil, badFragment("init: %v", err)
	}
	if len(names) != len(res.Tracks) {
		return nil, badFragment("init: %d sample descriptions for %d tracks", len(names), len(res.Tracks))
	}
	l := &importLayout{init: init, tracks: map[uint32]segment.TrackInfo{}, ref: res.Tracks[res.RefTrack].ID,
		codecs: strings.Join(names, ",")}
	for _, t := range res.Tracks {
		if _, dup := l.tracks[t.ID]; dup {
			return nil, badFragment("init: track id %d twice", t.ID)
		}
		l.tracks[t.ID] = t
	}
	return l, nil
}

// sampleEntryCodecs maps the sample entry types segment.Init writes to
// Vigil's codecs.
var sampleEntryCodecs = map[string]media.Codec{
	"avc1": media.CodecH264, "hvc1": media.CodecH265, "hev1": media.CodecH265,
	"mp4a": media.CodecAAC, "Opus": media.CodecOpus,
}

// initCodecs returns the codec names of an init block's tracks, in order,
// from each trak's first stsd sample entry (a bounded walk of the boxes:
// the init comes from the network).
func initCodecs(init []byte) ([]string, error) {
	top, err := boxes(init)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, b := range top {
		if b.typ != "moov" {
			continue
		}
		traks, err := boxes(init[b.body:b.end])
		if err != nil {
			return nil, err
		}
		for _, tk := range traks {
			if tk.typ != "trak" {
				continue
			}
			body := init[b.body:b.end][tk.body:tk.end]
			var entry string
			for _, path := range []string{"mdia", "minf", "stbl", "stsd"} {
				kids, err := boxes(body)
				if err != nil {
					return nil, err
				}
				found := false
				for _, k := range kids {
					if k.typ == path {
						body, found = body[k.body:k.end], true
						break
					}
				}
				if !found {
					return nil, fmt.Errorf("trak without %s", path)
				}
			}
			if len(body) < 8+8 { // full box header, entry count, first entry header
				return nil, errors.New("empty stsd")
			}
			entry = string(body[12:16])
			c, ok := sampleEntryCodecs[entry]
			if !ok {
				return nil, fmt.Errorf("track with sample entry %q, which Vigil does not record", entry)
			}
			names = append(names, c.String())
		}
	}
	return names, nil
}

// fragInfo is what patching needs of a parsed moof+mdat.
type fragInfo struct {
	seqOff int // offset of the mfhd sequence number in the data
	trafs  []trafPatch
}

type trafPatch struct {
	track    uint32
	tfdtOff  int // offset of the tfdt value
	tfdtV1   bool
	base     uint64
	duration uint64 // sum of the sample durations
	samples  int
	sync     bool // first sample is a sync sample
	entries  []segment.Sample
	dataOff  int64 // of the run's sample data in the fragment
	dataLen  int64
}

// ref returns the reference track's traf.
func (fi *fragInfo) ref(id uint32) *trafPatch {
	for i := range fi.trafs {
		if fi.trafs[i].track == id {
			return &fi.trafs[i]
		}
	}
	return nil
}

// Box and trun flags this parser accepts (what segment writes).
const (
	tfhdBaseDataOffset = 0x000001
	tfhdDefaultIsMoof  = 0x020000
	trunDataOff        = 0x000001
	trunFirstFlags     = 0x000004
	trunDur            = 0x000100
	trunSz             = 0x000200
	trunFl             = 0x000400
	trunCT             = 0x000800
	sampleIsNonSync    = 1 << 16
)

type box struct {
	typ       string
	off, body int // offsets of the box and of its body in the parent
	end       int
}

// boxes splits b into boxes; every byte must belong to one.
func boxes(b []byte) ([]box, error) {
	var out []box
	for off := 0; off < len(b); {
		if len(b)-off < 8 {
			return nil, errors.New("truncated box header")
		}
		size := uint64(binary.BigEndian.Uint32(b[off:]))
		hdr := 8
		if size == 1 {
			if len(b)-off < 16 {
				return nil, errors.New("truncated box header")
			}
			size, hdr = binary.BigEndian.Uint64(b[off+8:]), 16
		}
		if size < uint64(hdr) || size > uint64(len(b)-off) {
			return nil, fmt.Errorf("box %q: bad size %d", b[off+4:off+8], size)
		}
		out = append(out, box{typ: string(b[off+4 : off+8]), off: off, body: off + hdr, end: off + int(size)})
		off += int(size)
	}
	return out, nil
}

// parseFragment checks that data is exactly one moof followed by one mdat
// whose payload the moof's runs cover exactly, for the tracks of l, and
// returns where to patch it.
func parseFragment(l *importLayout, data []byte) (*fragInfo, error) {
	top, err := boxes(data)
	if err != nil {
		return nil, badFragment("%v", err)
	}
	if len(top) != 2 || top[0].typ != "moof" || top[1].typ != "mdat" {
		return nil, badFragment("not one moof and one mdat")
	}
	moof, mdat := top[0], top[1]
	kids, err := boxes(data[moof.body:moof.end])
	if err != nil {
		return nil, badFragment("moof: %v", err)
	}
	fi := &fragInfo{seqOff: -1}
	next := int64(mdat.body) // the next run's data starts here (moof-relative: moof is at 0)
	for _, k := range kids {
		k.off, k.body, k.end = k.off+moof.body, k.body+moof.body, k.end+moof.body
		switch k.typ {
		case "mfhd":
			if fi.seqOff >= 0 || k.end-k.body != 8 {
				return nil, badFragment("bad or repeated mfhd")
			}
			fi.seqOff = k.body + 4
		case "traf":
			tp, err := parseTrafPatch(l, data, k, &next)
			if err != nil {
				return nil, err
			}
			for _, o := range fi.trafs {
				if o.track == tp.track {
					return nil, badFragment("track %d twice", tp.track)
				}
			}
			fi.trafs = append(fi.trafs, tp)
		}
	}
	if fi.seqOff < 0 {
		return nil, badFragment("moof without mfhd")
	}
	if next != int64(mdat.end) {
		return nil, badFragment("samples cover %d of %d mdat bytes", next-int64(mdat.body), mdat.end-mdat.body)
	}
	r := fi.ref(l.ref)
	if r == nil || r.samples == 0 {
		return nil, badFragment("no video samples")
	}
	return fi, nil
}

func parseTrafPatch(l *importLayout, data []byte, traf box, next *int64) (trafPatch, error) {
	kids, err := boxes(data[traf.body:traf.end])
	if err != nil {
		return trafPatch{}, badFragment("traf: %v", err)
	}
	tp := trafPatch{tfdtOff: -1}
	var haveTfhd, haveTrun bool
	for _, k := range kids {
		body := data[traf.body+k.body : traf.body+k.end]
		switch k.typ {
		case "tfhd":
			if haveTfhd || len(body) < 8 {
				return tp, badFragment("bad or repeated tfhd")
			}
			haveTfhd = true
			flags := binary.BigEndian.Uint32(body) & 0xFFFFFF
			if flags&tfhdBaseDataOffset != 0 || flags&tfhdDefaultIsMoof == 0 {
				return tp, badFragment("tfhd flags %#x: data must be addressed from the moof", flags)
			}
			tp.track = binary.BigEndian.Uint32(body[4:])
			if _, ok := l.tracks[tp.track]; !ok {
				return tp, badFragment("track %d is not in the init", tp.track)
			}
		case "tfdt":
			if tp.tfdtOff >= 0 || len(body) < 8 || (body[0] == 1 && len(body) < 12) {
				return tp, badFragment("bad or repeated tfdt")
			}
			tp.tfdtOff = traf.body + k.body + 4
			tp.tfdtV1 = body[0] == 1
			if tp.tfdtV1 {
				tp.base = binary.BigEndian.Uint64(body[4:])
			} else {
				tp.base = uint64(binary.BigEndian.Uint32(body[4:]))
			}
		case "trun":
			if haveTrun {
				return tp, badFragment("more than one trun in a traf")
			}
			haveTrun = true
			if err := parseTrunPatch(body, &tp, next); err != nil {
				return tp, err
			}
		}
	}
	if !haveTfhd || !haveTrun || tp.tfdtOff < 0 {
		return tp, badFragment("traf without tfhd, tfdt or trun")
	}
	return tp, nil
}

func parseTrunPatch(body []byte, tp *trafPatch, next *int64) error {
	if len(body) < 8 {
		return badFragment("truncated trun")
	}
	flags := binary.BigEndian.Uint32(body) & 0xFFFFFF
	count := int(binary.BigEndian.Uint32(body[4:]))
	if flags&trunDataOff == 0 || flags&(trunDur|trunSz) != trunDur|trunSz {
		return badFragment("trun needs a data offset and per-sample durations and sizes")
	}
	p := 12
	if flags&trunFirstFlags != 0 {
		p += 4
	}
	if len(body) < p {
		return badFragment("truncated trun")
	}
	off := int64(int32(binary.BigEndian.Uint32(body[8:])))
	if off != *next {
		return badFragment("trun data at %d, expected %d", off, *next)
	}
	entry := 8
	if flags&trunFl != 0 {
		entry += 4
	}
	if flags&trunCT != 0 {
		entry += 4
	}
	if count == 0 || int64(len(body)-p) != int64(count)*int64(entry) {
		return badFragment("trun of %d samples does not match its size", count)
	}
	tp.samples = count
	tp.dataOff = off
	tp.entries = make([]segment.Sample, count)
	for i := 0; i < count; i++ {
		e := body[p+i*entry:]
		d := binary.BigEndian.Uint32(e)
		if d == 0 {
			return badFragment("sample %d of track %d has no duration", i, tp.track)
		}
		size := binary.BigEndian.Uint32(e[4:])
		tp.duration += uint64(d)
		*next += int64(size)
		sf := uint32(0)
		switch {
		case i == 0 && flags&trunFirstFlags != 0:
			sf = binary.BigEndian.Uint32(body[12:])
		case flags&trunFl != 0:
			sf = binary.BigEndian.Uint32(e[8:])
		}
		var cto int32
		if flags&trunCT != 0 {
			cto = int32(binary.BigEndian.Uint32(e[entry-4:]))
		}
		tp.entries[i] = segment.Sample{Duration: d, Size: size, CTO: cto, NonSync: sf&sampleIsNonSync != 0}
		if i == 0 {
			tp.sync = sf&sampleIsNonSync == 0
		}
	}
	tp.dataLen = *next - off
	return nil
}

// twoReaderAt reads a followed by b.
type twoReaderAt struct{ a, b []byte }

func (t twoReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		o := off + int64(n)
		var src []byte
		switch {
		case o < int64(len(t.a)):
			src = t.a[o:]
		case o-int64(len(t.a)) < int64(len(t.b)):
			src = t.b[o-int64(len(t.a)):]
		default:
			return n, io.EOF
		}
		n += copy(p[n:], src)
	}
	return n, nil
}
