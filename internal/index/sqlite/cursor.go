package sqlite

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// cursorVersion is the first byte of an encoded event cursor.
const cursorVersion = 0x01

var errCursor = errors.New("malformed cursor")

// eventCursor is the position after the last event of a page: listing
// continues with events strictly before (StartUS, ID) in (start, id)
// order.
type eventCursor struct {
	StartUS int64
	ID      int64
}

// encode returns the opaque form: base64url (no padding) of
// version, varint(start_us), uvarint(id).
func (c eventCursor) encode() string {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen64)
	b = append(b, cursorVersion)
	b = binary.AppendVarint(b, c.StartUS)
	b = binary.AppendUvarint(b, uint64(c.ID))
	return base64.RawURLEncoding.EncodeToString(b)
}

// parseCursor decodes a cursor made by encode. It accepts exactly the
// strings encode produces, plus non-canonical varints.
func parseCursor(s string) (eventCursor, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) < 3 || b[0] != cursorVersion {
		return eventCursor{}, errCursor
	}
	start, n := binary.Varint(b[1:])
	if n <= 0 {
		return eventCursor{}, errCursor
	}
	id, m := binary.Uvarint(b[1+n:])
	if m <= 0 || 1+n+m != len(b) || id > 1<<63-1 {
		return eventCursor{}, errCursor
	}
	return eventCursor{StartUS: start, ID: int64(id)}, nil
}
