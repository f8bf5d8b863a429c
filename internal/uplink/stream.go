package uplink

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vigil-video/vigil/internal/fragrec"
)

// StreamMagic opens every fragment stream.
const StreamMagic = "VUPLNK01"

// Limits a hub applies to a fragment stream.
const (
	// MaxInit bounds an init record (ftyp+moov).
	MaxInit = 1 << 20
	// MaxFragment bounds a fragment record (moof+mdat).
	MaxFragment = 64 << 20
)

// ErrBadStream is wrapped by every decoding error that is the sender's
// fault (the hub answers it with 400); ErrTorn, wrapped too, says the
// stream was cut off inside a record.
var (
	ErrBadStream = errors.New("bad fragment stream")
	ErrTorn      = fragrec.ErrTorn
)

// Fragment is one spooled fragment in a stream.
type Fragment struct {
	Seq      uint64
	Init     []byte // ftyp+moov the fragment needs
	Data     []byte // moof+mdat
	Start    time.Time
	Duration time.Duration
	Key      bool
}

// Encoder writes a fragment stream: the magic, then for each fragment its
// init record (only when the init differs from the previous one) and its
// fragment record.
type Encoder struct {
	w       io.Writer
	started bool
	init    []byte
	initID  uint32
	buf     []byte
}

// NewEncoder writes a stream to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Write adds one fragment. Seqs must increase.
func (e *Encoder) Write(f Fragment) error {
	e.buf = e.buf[:0]
	if !e.started {
		e.buf = append(e.buf, StreamMagic...)
		e.started = true
	}
	if e.initID == 0 || !bytes.Equal(e.init, f.Init) {
		e.initID++
		e.init = append(e.init[:0], f.Init...)
		e.buf = fragrec.AppendRecord(e.buf, fragrec.Header{Type: fragrec.TypeInit, Seq: uint64(e.initID)}, f.Init)
	}
	var flags uint8
	if f.Key {
		flags = fragrec.FlagKey
	}
	e.buf = fragrec.AppendHeader(e.buf, fragrec.Header{Type: fragrec.TypeFragment, Flags: flags, Seq: f.Seq,
		Start: f.Start.UnixNano(), Duration: int64(f.Duration), InitID: e.initID,
		Length: uint32(len(f.Data)), BodyCRC: fragrec.CRC(f.Data)})
	if _, err := e.w.Write(e.buf); err != nil {
		return fmt.Errorf("write fragment %d: %w", f.Seq, err)
	}
	if _, err := e.w.Write(f.Data); err != nil {
		return fmt.Errorf("write fragment %d: %w", f.Seq, err)
	}
	return nil
}

// Decoder reads a fragment stream, checking every record.
type Decoder struct {
	r       io.Reader
	rd      *fragrec.Reader
	started bool
	inits   map[uint32][]byte
	lastSeq uint64
}

// NewDecoder reads a stream from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, rd: fragrec.NewReader(r, MaxFragment), inits: map[uint32][]byte{}}
}

// maxInits bounds the init layouts one stream may carry.
const maxInits = 16

// Next returns the next fragment; its Data is valid until the next call
// (Init stays valid). It returns io.EOF at the clean end of the stream, and
// an error wrapping ErrBadStream (and ErrTorn for a cut-off stream) for
// anything else: a bad magic, a damaged or oversized record, a fragment
// whose init was not sent, or seqs that do not increase.
func (d *Decoder) Next() (Fragment, error) {
	if !d.started {
		var magic [len(StreamMagic)]byte
		if _, err := io.ReadFull(d.r, magic[:]); err != nil {
			if err == io.EOF {
				return Fragment{}, io.EOF
			}
			return Fragment{}, fmt.Errorf("%w: reading the stream magic: %w", ErrBadStream, ErrTorn)
		}
		if string(magic[:]) != StreamMagic {
			return Fragment{}, fmt.Errorf("%w: magic %q, want %q", ErrBadStream, magic[:], StreamMagic)
		}
		d.started = true
	}
	for {
		h, body, err := d.rd.Next()
		if err == io.EOF {
			return Fragment{}, io.EOF
		}
		if err != nil {
			return Fragment{}, fmt.Errorf("%w: after seq %d: %w", ErrBadStream, d.lastSeq, err)
		}
		switch h.Type {
		case fragrec.TypeInit:
			if len(body) > MaxInit {
				return Fragment{}, fmt.Errorf("%w: init record of %d bytes over %d", ErrBadStream, len(body), MaxInit)
			}
			if _, ok := d.inits[uint32(h.Seq)]; !ok && len(d.inits) >= maxInits {
				return Fragment{}, fmt.Errorf("%w: more than %d init records", ErrBadStream, maxInits)
			}
			d.inits[uint32(h.Seq)] = bytes.Clone(body)
		case fragrec.TypeFragment:
			init, ok := d.inits[h.InitID]
			if !ok {
				return Fragment{}, fmt.Errorf("%w: fragment %d needs init %d, which the stream did not send", ErrBadStream, h.Seq, h.InitID)
			}
			if h.Seq == 0 || h.Seq <= d.lastSeq {
				return Fragment{}, fmt.Errorf("%w: fragment seq %d after %d", ErrBadStream, h.Seq, d.lastSeq)
			}
			d.lastSeq = h.Seq
			return Fragment{Seq: h.Seq, Init: init, Data: body, Start: time.Unix(0, h.Start).UTC(),
				Duration: time.Duration(h.Duration), Key: h.Key()}, nil
		}
	}
}
