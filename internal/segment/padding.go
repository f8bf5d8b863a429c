package segment

import "encoding/binary"

// Align is the byte alignment of everything the recorder writes to a
// segment file: the init block and every fragment end on a multiple of it,
// padded with a free box, so the files can be written with O_DIRECT.
const Align = 4096

// freeZeros is the body of padding boxes; it is never written to.
var freeZeros [Align + 8]byte

// Padding returns the free box that pads n bytes to a multiple of Align,
// as buffers to write after them (nil when n is aligned). A free box
// takes at least 8 bytes, so a shortfall under 8 is padded by Align more.
// Players and parsers skip free boxes (ISO/IEC 14496-12, 8.1.2).
func Padding(n int64) [][]byte {
	pad := (Align - n%Align) % Align
	if pad == 0 {
		return nil
	}
	if pad < 8 {
		pad += Align
	}
	hdr := make([]byte, 8)
	binary.BigEndian.PutUint32(hdr, uint32(pad))
	copy(hdr[4:], "free")
	return [][]byte{hdr, freeZeros[:pad-8]}
}

// isPadding reports whether a box of type typ is padding between
// fragments (free or skip).
func isPadding(typ string) bool { return typ == "free" || typ == "skip" }

// TrimPadding returns b, a run of whole top-level boxes (a stored init
// block or fragment), without the padding boxes at its end. Bytes that do
// not parse as boxes are kept.
func TrimPadding(b []byte) []byte {
	end, off := len(b), 0
	for off+8 <= len(b) {
		size := int(binary.BigEndian.Uint32(b[off:]))
		if size < 8 || size > len(b)-off {
			return b
		}
		if isPadding(string(b[off+4 : off+8])) {
			if end == len(b) {
				end = off
			}
		} else {
			end = len(b)
		}
		off += size
	}
	if off != len(b) {
		return b
	}
	return b[:end]
}
