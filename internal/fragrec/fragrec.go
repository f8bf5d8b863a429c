// Package fragrec owns the checksummed record format that carries recorded
// fMP4 fragments between the gateway's parts: the spool's data files on
// disk (internal/spool) and the fragment uploads to the hub on the wire
// (internal/uplink). It is documented in docs/format/spool.md.
//
// Every record is a fixed 44-byte header followed by Length body bytes. The
// header carries its own CRC32C, so a damaged length can never send a
// decoder astray; the body has its own CRC32C, checked on every decode.
package fragrec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// HeaderSize is the size of a record header.
const HeaderSize = 44

// Record types.
const (
	TypeInit     uint8 = 1 // body: ftyp+moov of a track layout
	TypeFragment uint8 = 2 // body: moof+mdat
)

// FlagKey marks a fragment that starts with a keyframe.
const FlagKey uint8 = 1

// MaxBody bounds a record body (a fragment or an init block).
const MaxBody = 256 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CRC returns the CRC32C (Castagnoli) of b, the checksum records use.
func CRC(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// ErrTorn reports a record that runs past the end of the data: an append
// that a crash cut short, or an upload cut off in transit.
var ErrTorn = errors.New("torn record")

// Header is a decoded record header.
type Header struct {
	Type     uint8
	Flags    uint8
	Length   uint32
	Seq      uint64 // fragment seq, or the init id for an init record
	Start    int64  // unix nanoseconds
	Duration int64  // nanoseconds
	InitID   uint32 // fragment: the init record it needs
	BodyCRC  uint32
}

// Key reports whether the fragment starts with a keyframe.
func (h Header) Key() bool { return h.Flags&FlagKey != 0 }

// AppendHeader appends h's 44 bytes, with their checksum, to dst.
func AppendHeader(dst []byte, h Header) []byte {
	var b [HeaderSize]byte
	b[0], b[1] = 'S', 'R'
	b[2] = h.Type
	b[3] = h.Flags
	binary.BigEndian.PutUint32(b[4:], h.Length)
	binary.BigEndian.PutUint64(b[8:], h.Seq)
	binary.BigEndian.PutUint64(b[16:], uint64(h.Start))
	binary.BigEndian.PutUint64(b[24:], uint64(h.Duration))
	binary.BigEndian.PutUint32(b[32:], h.InitID)
	binary.BigEndian.PutUint32(b[36:], h.BodyCRC)
	binary.BigEndian.PutUint32(b[40:], CRC(b[:40]))
	return append(dst, b[:]...)
}

// AppendRecord appends a whole record (h with Length and BodyCRC set from
// body, then body) to dst.
func AppendRecord(dst []byte, h Header, body []byte) []byte {
	h.Length = uint32(len(body))
	h.BodyCRC = CRC(body)
	dst = AppendHeader(dst, h)
	return append(dst, body...)
}

// DecodeHeader parses one record header. It fails on a short buffer
// (ErrTorn), a bad magic, a bad header checksum or an impossible field.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, ErrTorn
	}
	if b[0] != 'S' || b[1] != 'R' {
		return Header{}, fmt.Errorf("bad record magic %q", b[:2])
	}
	if got, want := CRC(b[:40]), binary.BigEndian.Uint32(b[40:]); got != want {
		return Header{}, fmt.Errorf("record header checksum %08x, want %08x", got, want)
	}
	h := Header{
		Type:     b[2],
		Flags:    b[3],
		Length:   binary.BigEndian.Uint32(b[4:]),
		Seq:      binary.BigEndian.Uint64(b[8:]),
		Start:    int64(binary.BigEndian.Uint64(b[16:])),
		Duration: int64(binary.BigEndian.Uint64(b[24:])),
		InitID:   binary.BigEndian.Uint32(b[32:]),
		BodyCRC:  binary.BigEndian.Uint32(b[36:]),
	}
	if h.Type != TypeInit && h.Type != TypeFragment {
		return Header{}, fmt.Errorf("unknown record type %d", h.Type)
	}
	if h.Length > MaxBody {
		return Header{}, fmt.Errorf("record length %d over %d", h.Length, MaxBody)
	}
	if h.Duration < 0 {
		return Header{}, fmt.Errorf("negative duration %d", h.Duration)
	}
	return h, nil
}

// CheckBody verifies a record body against its header.
func CheckBody(h Header, body []byte) error {
	if uint32(len(body)) != h.Length {
		return ErrTorn
	}
	if got := CRC(body); got != h.BodyCRC {
		return fmt.Errorf("body checksum %08x, want %08x", got, h.BodyCRC)
	}
	return nil
}

// Decode parses one whole record from the start of b and returns its
// header, body and size. A body that fails its checksum returns the header
// (so the caller can name the entry), its size and an error.
func Decode(b []byte) (Header, []byte, int, error) {
	h, err := DecodeHeader(b)
	if err != nil {
		return Header{}, nil, 0, err
	}
	end := HeaderSize + int(h.Length)
	if len(b) < end {
		return h, nil, 0, ErrTorn
	}
	body := b[HeaderSize:end]
	if err := CheckBody(h, body); err != nil {
		return h, nil, end, err
	}
	return h, body, end, nil
}

// Reader reads records one by one from a stream (an upload body).
type Reader struct {
	r       io.Reader
	maxBody int
	hdr     [HeaderSize]byte
	buf     []byte
}

// NewReader reads records from r; bodies over maxBody (at most MaxBody)
// are refused.
func NewReader(r io.Reader, maxBody int) *Reader {
	if maxBody <= 0 || maxBody > MaxBody {
		maxBody = MaxBody
	}
	return &Reader{r: r, maxBody: maxBody}
}

// Next returns the next record. The body is valid until the next call. At
// a clean end of the stream it returns io.EOF; a stream that ends inside a
// record returns ErrTorn; a damaged record returns a descriptive error.
func (rd *Reader) Next() (Header, []byte, error) {
	if _, err := io.ReadFull(rd.r, rd.hdr[:]); err != nil {
		if err == io.EOF {
			return Header{}, nil, io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			return Header{}, nil, ErrTorn
		}
		return Header{}, nil, fmt.Errorf("read record header: %w", err)
	}
	h, err := DecodeHeader(rd.hdr[:])
	if err != nil {
		return Header{}, nil, err
	}
	if int(h.Length) > rd.maxBody {
		return Header{}, nil, fmt.Errorf("record of %d bytes over the limit of %d", h.Length, rd.maxBody)
	}
	if cap(rd.buf) < int(h.Length) {
		rd.buf = make([]byte, h.Length)
	}
	body := rd.buf[:h.Length]
	if _, err := io.ReadFull(rd.r, body); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return Header{}, nil, ErrTorn
		}
		return Header{}, nil, fmt.Errorf("read record body: %w", err)
	}
	if err := CheckBody(h, body); err != nil {
		return Header{}, nil, fmt.Errorf("record seq %d: %w", h.Seq, err)
	}
	return h, body, nil
}
