package spool

import "github.com/vigil-video/vigil/internal/fragrec"

// The data files are "VSPOOL01" followed by fragrec records
// (docs/format/spool.md); these short names keep the spool's code terse.
const (
	headerSize  = fragrec.HeaderSize
	fileMagic   = "VSPOOL01"
	recInit     = fragrec.TypeInit
	recFragment = fragrec.TypeFragment
	flagKey     = fragrec.FlagKey
	maxBody     = fragrec.MaxBody
)

type header = fragrec.Header

var (
	errTorn      = fragrec.ErrTorn
	appendRecord = fragrec.AppendRecord
	decodeRecord = fragrec.Decode
	crcOf        = fragrec.CRC
)
