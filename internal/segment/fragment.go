package segment

import "encoding/binary"

// Sample is one sample's entry in a fragment's trun.
type Sample struct {
	Duration uint32
	Size     uint32
	// CTO is the composition time offset (PTS - DTS), may be negative.
	CTO     int32
	NonSync bool
}

// Run is one track's samples in a fragment.
type Run struct {
	TrackID  uint32
	BaseTime uint64 // decode time of the first sample, in the track timescale
	Samples  []Sample
}

const (
	trunDataOffset = 0x01
	trunDuration   = 0x100
	trunSize       = 0x200
	trunFlags      = 0x400
	trunCTO        = 0x800

	tfhdDefaultBaseIsMoof = 0x020000

	sampleNonSync = 1 << 16
	// sampleDependsNo marks a sync sample as not depending on others.
	sampleDependsNo  = 2 << 24
	sampleDependsYes = 1 << 24
)

// AppendFragmentHeader appends a moof box for runs followed by the mdat box
// header, so that writing the samples' payloads right after it (track by
// track, sample by sample, in order) completes the fragment. It allocates
// nothing when dst has room.
func AppendFragmentHeader(dst []byte, seq uint32, runs []Run) []byte {
	var dataSize uint64
	for _, r := range runs {
		for _, s := range r.Samples {
			dataSize += uint64(s.Size)
		}
	}
	moofSize := 8 + 16 // moof header + mfhd
	for _, r := range runs {
		moofSize += trafSize(r)
	}
	start := len(dst)
	dst = appendBoxHeader(dst, uint32(moofSize), "moof")
	dst = appendBoxHeader(dst, 16, "mfhd")
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = binary.BigEndian.AppendUint32(dst, seq)
	dataOffset := uint64(moofSize) + 8
	if dataSize+8 > 0xFFFFFFFF {
		dataOffset += 8
	}
	for _, r := range runs {
		dst = appendTraf(dst, r, uint32(dataOffset))
		for _, s := range r.Samples {
			dataOffset += uint64(s.Size)
		}
	}
	_ = start
	if dataSize+8 > 0xFFFFFFFF {
		dst = appendBoxHeader(dst, 1, "mdat")
		return binary.BigEndian.AppendUint64(dst, dataSize+16)
	}
	return appendBoxHeader(dst, uint32(dataSize+8), "mdat")
}

func trunFlagsFor(r Run) uint32 {
	f := uint32(trunDataOffset | trunDuration | trunSize | trunFlags)
	for _, s := range r.Samples {
		if s.CTO != 0 {
			return f | trunCTO
		}
	}
	return f
}

func trunEntrySize(flags uint32) int {
	n := 12
	if flags&trunCTO != 0 {
		n += 4
	}
	return n
}

func trafSize(r Run) int {
	tfhd := 16
	tfdt := 20
	trun := 12 + 8 + len(r.Samples)*trunEntrySize(trunFlagsFor(r))
	return 8 + tfhd + tfdt + trun
}

func appendTraf(dst []byte, r Run, dataOffset uint32) []byte {
	dst = appendBoxHeader(dst, uint32(trafSize(r)), "traf")
	dst = appendBoxHeader(dst, 16, "tfhd")
	dst = binary.BigEndian.AppendUint32(dst, tfhdDefaultBaseIsMoof)
	dst = binary.BigEndian.AppendUint32(dst, r.TrackID)
	dst = appendBoxHeader(dst, 20, "tfdt")
	dst = binary.BigEndian.AppendUint32(dst, 1<<24) // version 1
	dst = binary.BigEndian.AppendUint64(dst, r.BaseTime)
	flags := trunFlagsFor(r)
	dst = appendBoxHeader(dst, uint32(20+len(r.Samples)*trunEntrySize(flags)), "trun")
	dst = binary.BigEndian.AppendUint32(dst, 1<<24|flags) // version 1: signed CTO
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(r.Samples)))
	dst = binary.BigEndian.AppendUint32(dst, dataOffset)
	for _, s := range r.Samples {
		dst = binary.BigEndian.AppendUint32(dst, s.Duration)
		dst = binary.BigEndian.AppendUint32(dst, s.Size)
		sf := uint32(sampleDependsNo)
		if s.NonSync {
			sf = sampleNonSync | sampleDependsYes
		}
		dst = binary.BigEndian.AppendUint32(dst, sf)
		if flags&trunCTO != 0 {
			dst = binary.BigEndian.AppendUint32(dst, uint32(s.CTO))
		}
	}
	return dst
}

func appendBoxHeader(dst []byte, size uint32, typ string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, size)
	return append(dst, typ...)
}
