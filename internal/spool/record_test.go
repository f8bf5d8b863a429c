package spool

import (
	"bytes"
	"errors"
	"testing"
)

// recordCases feed both TestDecodeRecord and FuzzDecodeRecord's seeds.
var recordCases = []struct {
	name    string
	rec     []byte
	wantErr bool
	torn    bool
}{
	{"fragment", appendRecord(nil, header{Type: recFragment, Flags: flagKey, Seq: 7, Start: 1e18, Duration: 1e9, InitID: 1}, []byte("moof+mdat")), false, false},
	{"init", appendRecord(nil, header{Type: recInit, Seq: 1}, []byte("ftyp+moov")), false, false},
	{"empty body", appendRecord(nil, header{Type: recFragment, Seq: 1}, nil), false, false},
	{"short header", appendRecord(nil, header{Type: recFragment, Seq: 1}, []byte("x"))[:20], true, true},
	{"torn body", appendRecord(nil, header{Type: recFragment, Seq: 1}, []byte("abcdef"))[:headerSize+3], true, true},
	{"bad body crc", flip(appendRecord(nil, header{Type: recFragment, Seq: 1}, []byte("abcdef")), headerSize+1), true, false},
	{"bad header crc", flip(appendRecord(nil, header{Type: recFragment, Seq: 1}, []byte("abcdef")), 9), true, false},
	{"bad magic", flip(appendRecord(nil, header{Type: recFragment, Seq: 1}, []byte("abcdef")), 0), true, false},
	{"unknown type", appendRecord(nil, header{Type: 9, Seq: 1}, []byte("abcdef")), true, false},
	{"huge length", appendHeader(nil, header{Type: recFragment, Length: maxBody + 1}), true, false},
	{"negative duration", appendRecord(nil, header{Type: recFragment, Duration: -1}, []byte("a")), true, false},
}

func flip(b []byte, i int) []byte { b[i] ^= 0xff; return b }

func TestDecodeRecord(t *testing.T) {
	t.Parallel()
	for _, tc := range recordCases {
		t.Run(tc.name, func(t *testing.T) {
			h, body, n, err := decodeRecord(tc.rec)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if errors.Is(err, errTorn) != tc.torn {
				t.Fatalf("err = %v, want torn %v", err, tc.torn)
			}
			if err != nil {
				if body != nil {
					t.Fatal("bytes returned with an error")
				}
				return
			}
			if n != len(tc.rec) || !bytes.Equal(appendRecord(nil, h, body), tc.rec) {
				t.Fatalf("decode/encode round trip differs (n=%d of %d)", n, len(tc.rec))
			}
		})
	}
}

// FuzzDecodeRecord checks that no input panics the decoder, that it never
// returns bytes that fail their checksum, and that what it accepts encodes
// back to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	for _, tc := range recordCases {
		f.Add(tc.rec)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, body, n, err := decodeRecord(b)
		if err != nil {
			if body != nil {
				t.Fatal("bytes returned with an error")
			}
			if n > len(b) {
				t.Fatalf("size %d past input %d", n, len(b))
			}
			return
		}
		if n > len(b) || n != headerSize+len(body) || crcOf(body) != h.BodyCRC {
			t.Fatalf("accepted record inconsistent: n=%d len=%d body=%d", n, len(b), len(body))
		}
		if !bytes.Equal(appendRecord(nil, h, body), b[:n]) {
			t.Fatal("accepted record does not encode back to its bytes")
		}
	})
}
