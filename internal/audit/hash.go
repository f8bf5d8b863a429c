package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// Domain-separation prefixes of the hashed and signed messages (see
// docs/format/audit.md).
const (
	recordDomain = "vigil-audit-record-v1"
	headDomain   = "vigil-audit-head-v1"
)

// genesis is the prev_hash of record 1.
var genesisHex = hex.EncodeToString(make([]byte, sha256.Size))

// fields returns a record's hashed fields in their fixed order.
func (r *Record) fields() [12]string {
	return [12]string{strconv.FormatInt(r.Seq, 10), r.Time, r.User, r.Role, r.Action, r.Camera, r.Site,
		r.From, r.To, r.Reason, r.Remote, string(r.Detail)}
}

// computeHash is SHA-256 over the domain prefix, the previous hash (32
// raw bytes) and each field as a 4-byte big-endian length and its bytes.
func computeHash(prev [32]byte, r *Record) [32]byte {
	h := sha256.New()
	h.Write([]byte(recordDomain))
	h.Write(prev[:])
	var n [4]byte
	for _, f := range r.fields() {
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// headMessage is what a head signature covers: the domain prefix, the
// sequence number (8 bytes big-endian), the record hash (32 raw bytes)
// and the signing time (4-byte length and RFC 3339 text).
func headMessage(seq int64, hash [32]byte, at string) []byte {
	msg := make([]byte, 0, len(headDomain)+8+32+4+len(at))
	msg = append(msg, headDomain...)
	msg = binary.BigEndian.AppendUint64(msg, uint64(seq))
	msg = append(msg, hash[:]...)
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(at)))
	return append(msg, at...)
}

// parseHash decodes a stored hex hash.
func parseHash(s string) ([32]byte, error) {
	var h [32]byte
	if len(s) != 64 {
		return h, errors.New("hash is not 64 hex digits")
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("hash: %w", err)
	}
	return h, nil
}
