package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// On-disk record layout (docs/format/spool.md). Every record is a fixed
// 44-byte header followed by Length body bytes. The header carries its own
// CRC32C so a damaged length can never send the decoder astray; the body's
// CRC32C is checked again on every Read.
const (
	headerSize = 44
	fileMagic  = "VSPOOL01"

	recInit     = 1
	recFragment = 2

	flagKey = 1

	// maxBody bounds a record body (a fragment or an init block).
	maxBody = 256 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errTorn reports a record that runs past the end of the data: an append
// that a crash cut short.
var errTorn = errors.New("torn record")

// header is a decoded record header.
type header struct {
	Type     uint8
	Flags    uint8
	Length   uint32
	Seq      uint64 // fragment seq, or the init id for an init record
	Start    int64  // unix nanoseconds
	Duration int64  // nanoseconds
	InitID   uint32
	BodyCRC  uint32
}

func appendHeader(dst []byte, h header) []byte {
	var b [headerSize]byte
	b[0], b[1] = 'S', 'R'
	b[2] = h.Type
	b[3] = h.Flags
	binary.BigEndian.PutUint32(b[4:], h.Length)
	binary.BigEndian.PutUint64(b[8:], h.Seq)
	binary.BigEndian.PutUint64(b[16:], uint64(h.Start))
	binary.BigEndian.PutUint64(b[24:], uint64(h.Duration))
	binary.BigEndian.PutUint32(b[32:], h.InitID)
	binary.BigEndian.PutUint32(b[36:], h.BodyCRC)
	binary.BigEndian.PutUint32(b[40:], crc32.Checksum(b[:40], castagnoli))
	return append(dst, b[:]...)
}

// decodeHeader parses one record header. It fails on a short buffer
// (errTorn), a bad magic, a bad header checksum or an impossible field.
func decodeHeader(b []byte) (header, error) {
	if len(b) < headerSize {
		return header{}, errTorn
	}
	if b[0] != 'S' || b[1] != 'R' {
		return header{}, fmt.Errorf("bad record magic %q", b[:2])
	}
	if got, want := crc32.Checksum(b[:40], castagnoli), binary.BigEndian.Uint32(b[40:]); got != want {
		return header{}, fmt.Errorf("record header checksum %08x, want %08x", got, want)
	}
	h := header{
		Type:     b[2],
		Flags:    b[3],
		Length:   binary.BigEndian.Uint32(b[4:]),
		Seq:      binary.BigEndian.Uint64(b[8:]),
		Start:    int64(binary.BigEndian.Uint64(b[16:])),
		Duration: int64(binary.BigEndian.Uint64(b[24:])),
		InitID:   binary.BigEndian.Uint32(b[32:]),
		BodyCRC:  binary.BigEndian.Uint32(b[36:]),
	}
	if h.Type != recInit && h.Type != recFragment {
		return header{}, fmt.Errorf("unknown record type %d", h.Type)
	}
	if h.Length > maxBody {
		return header{}, fmt.Errorf("record length %d over %d", h.Length, maxBody)
	}
	if h.Duration < 0 {
		return header{}, fmt.Errorf("negative duration %d", h.Duration)
	}
	return h, nil
}

// checkBody verifies a record body against its header checksum.
func checkBody(h header, body []byte) error {
	if uint32(len(body)) != h.Length {
		return errTorn
	}
	if got := crc32.Checksum(body, castagnoli); got != h.BodyCRC {
		return fmt.Errorf("body checksum %08x, want %08x", got, h.BodyCRC)
	}
	return nil
}

// decodeRecord parses one whole record from the start of b and returns its
// header, body and size. A body that fails its checksum returns the header
// (so the caller can name the entry) and an error.
func decodeRecord(b []byte) (header, []byte, int, error) {
	h, err := decodeHeader(b)
	if err != nil {
		return header{}, nil, 0, err
	}
	end := headerSize + int(h.Length)
	if len(b) < end {
		return h, nil, 0, errTorn
	}
	body := b[headerSize:end]
	if err := checkBody(h, body); err != nil {
		return h, nil, end, err
	}
	return h, body, end, nil
}
