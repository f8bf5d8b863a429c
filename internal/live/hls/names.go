package hls

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// fileKind is what a live/{file} name refers to.
type fileKind int

const (
	fileInit    fileKind = iota + 1 // init-{a}.mp4
	fileSegment                     // s{a}.mp4
	filePart                        // p{a}.{b}.mp4
)

// fileRef is a parsed live/{file} name.
type fileRef struct {
	kind fileKind
	a, b uint64
}

// fileName appends the name of ref.
func fileName(dst []byte, ref fileRef) []byte {
	switch ref.kind {
	case fileInit:
		dst = append(dst, "init-"...)
		dst = strconv.AppendUint(dst, ref.a, 10)
	case fileSegment:
		dst = append(dst, 's')
		dst = strconv.AppendUint(dst, ref.a, 10)
	case filePart:
		dst = append(dst, 'p')
		dst = strconv.AppendUint(dst, ref.a, 10)
		dst = append(dst, '.')
		dst = strconv.AppendUint(dst, ref.b, 10)
	}
	return append(dst, ".mp4"...)
}

// errBadName is returned for a file name this server never hands out.
var errBadName = errors.New("not a live HLS file name")

// parseFile parses a name made by fileName; only canonical names (no
// signs, no leading zeros) are accepted.
func parseFile(name string) (fileRef, error) {
	base, ok := strings.CutSuffix(name, ".mp4")
	if !ok {
		return fileRef{}, errBadName
	}
	var ref fileRef
	var err error
	switch {
	case strings.HasPrefix(base, "init-"):
		ref.kind = fileInit
		ref.a, err = parseNumber(base[len("init-"):])
	case strings.HasPrefix(base, "s"):
		ref.kind = fileSegment
		ref.a, err = parseNumber(base[1:])
	case strings.HasPrefix(base, "p"):
		ref.kind = filePart
		msn, idx, found := strings.Cut(base[1:], ".")
		if !found {
			return fileRef{}, errBadName
		}
		if ref.a, err = parseNumber(msn); err == nil {
			ref.b, err = parseNumber(idx)
		}
	default:
		return fileRef{}, errBadName
	}
	if err != nil {
		return fileRef{}, err
	}
	return ref, nil
}

// parseNumber parses a canonical decimal uint64.
func parseNumber(s string) (uint64, error) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, errBadName
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errBadName
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errBadName
	}
	return n, nil
}

// blockRequest is a playlist request's blocking-reload parameters.
type blockRequest struct {
	block bool   // _HLS_msn was given
	msn   uint64 // _HLS_msn
	part  int    // _HLS_part, -1 when absent (wait for the whole segment)
}

// maxPartIndex bounds _HLS_part (parts of a segment are far fewer).
const maxPartIndex = 1 << 16

// parseBlock reads _HLS_msn and _HLS_part. _HLS_skip is accepted and
// ignored (the playlist does not offer delta updates).
func parseBlock(q url.Values) (blockRequest, error) {
	br := blockRequest{part: -1}
	msn, hasMSN := q["_HLS_msn"]
	prt, hasPart := q["_HLS_part"]
	if hasPart && !hasMSN {
		return br, errors.New("_HLS_part needs _HLS_msn")
	}
	if !hasMSN {
		return br, nil
	}
	if len(msn) != 1 || (hasPart && len(prt) != 1) {
		return br, errors.New("_HLS_msn and _HLS_part may be given once")
	}
	n, err := strconv.ParseUint(msn[0], 10, 64)
	if err != nil {
		return br, errors.New("_HLS_msn must be a non-negative integer")
	}
	br.block, br.msn = true, n
	if hasPart {
		p, err := strconv.ParseUint(prt[0], 10, 32)
		if err != nil || p > maxPartIndex {
			return br, errors.New("_HLS_part must be a small non-negative integer")
		}
		br.part = int(p)
	}
	return br, nil
}
