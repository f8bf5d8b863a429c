package fragrec

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// recordCases feed both TestDecode and FuzzDecode's seeds.
var recordCases = []struct {
	name    string
	rec     []byte
	wantErr bool
	torn    bool
}{
	{"fragment", AppendRecord(nil, Header{Type: TypeFragment, Flags: FlagKey, Seq: 7, Start: 1e18, Duration: 1e9, InitID: 1}, []byte("moof+mdat")), false, false},
	{"init", AppendRecord(nil, Header{Type: TypeInit, Seq: 1}, []byte("ftyp+moov")), false, false},
	{"empty body", AppendRecord(nil, Header{Type: TypeFragment, Seq: 1}, nil), false, false},
	{"short header", AppendRecord(nil, Header{Type: TypeFragment, Seq: 1}, []byte("x"))[:20], true, true},
	{"torn body", AppendRecord(nil, Header{Type: TypeFragment, Seq: 1}, []byte("abcdef"))[:HeaderSize+3], true, true},
	{"bad body crc", flip(AppendRecord(nil, Header{Type: TypeFragment, Seq: 1}, []byte("abcdef")), HeaderSize+1), true, false},
	{"bad header crc", flip(AppendRecord(nil, Header{Type: TypeFragment, Seq: 1}, []byte("abcdef")), 9), true, false},
	{"bad magic", flip(AppendRecord(nil, Header{Type: TypeFragment, Seq: 1}, []byte("abcdef")), 0), true, false},
	{"unknown type", AppendRecord(nil, Header{Type: 9, Seq: 1}, []byte("abcdef")), true, false},
	{"huge length", AppendHeader(nil, Header{Type: TypeFragment, Length: MaxBody + 1}), true, false},
	{"negative duration", AppendRecord(nil, Header{Type: TypeFragment, Duration: -1}, []byte("a")), true, false},
}

func flip(b []byte, i int) []byte { b[i] ^= 0xff; return b }

func TestDecode(t *testing.T) {
	t.Parallel()
	for _, tc := range recordCases {
		t.Run(tc.name, func(t *testing.T) {
			h, body, n, err := Decode(tc.rec)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if errors.Is(err, ErrTorn) != tc.torn {
				t.Fatalf("err = %v, want torn %v", err, tc.torn)
			}
			if err != nil {
				if body != nil {
					t.Fatal("bytes returned with an error")
				}
				return
			}
			if n != len(tc.rec) || !bytes.Equal(AppendRecord(nil, h, body), tc.rec) {
				t.Fatalf("decode/encode round trip differs (n=%d of %d)", n, len(tc.rec))
			}
		})
	}
}

// FuzzDecode checks that no input panics the decoder, that it never
// returns bytes that fail their checksum, and that what it accepts encodes
// back to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, tc := range recordCases {
		f.Add(tc.rec)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, body, n, err := Decode(b)
		if err != nil {
			if body != nil {
				t.Fatal("bytes returned with an error")
			}
			if n > len(b) {
				t.Fatalf("size %d past input %d", n, len(b))
			}
			return
		}
		if n > len(b) || n != HeaderSize+len(body) || CRC(body) != h.BodyCRC {
			t.Fatalf("accepted record inconsistent: n=%d len=%d body=%d", n, len(b), len(body))
		}
		if !bytes.Equal(AppendRecord(nil, h, body), b[:n]) {
			t.Fatal("accepted record does not encode back to its bytes")
		}
	})
}

// TestReader reads a stream of records: clean end, a torn tail, a damaged
// body, and a body over the reader's limit.
func TestReader(t *testing.T) {
	t.Parallel()
	var stream []byte
	stream = AppendRecord(stream, Header{Type: TypeInit, Seq: 1}, []byte("ftyp+moov"))
	stream = AppendRecord(stream, Header{Type: TypeFragment, Flags: FlagKey, Seq: 5, InitID: 1}, []byte("moof+mdat one"))
	stream = AppendRecord(stream, Header{Type: TypeFragment, Seq: 6, InitID: 1}, []byte("moof+mdat two"))
	cases := []struct {
		name    string
		in      []byte
		max     int
		records int
		want    error // nil: a descriptive error; io.EOF: clean end
		desc    string
	}{
		{"whole", stream, 0, 3, io.EOF, ""},
		{"torn tail", stream[:len(stream)-4], 0, 2, ErrTorn, ""},
		{"torn header", stream[:len(stream)-20], 0, 2, ErrTorn, ""},
		{"damaged body", flip(bytes.Clone(stream), len(stream)-2), 0, 2, nil, "seq 6: body checksum"},
		{"over limit", stream, 5, 0, nil, "over the limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rd := NewReader(bytes.NewReader(tc.in), tc.max)
			n := 0
			for {
				h, body, err := rd.Next()
				if err != nil {
					if tc.want != nil && !errors.Is(err, tc.want) {
						t.Fatalf("after %d records: %v, want %v", n, err, tc.want)
					}
					if tc.want == nil && !strings.Contains(err.Error(), tc.desc) {
						t.Fatalf("after %d records: %v, want it to say %q", n, err, tc.desc)
					}
					break
				}
				if CRC(body) != h.BodyCRC {
					t.Fatal("body returned that fails its checksum")
				}
				n++
			}
			if n != tc.records {
				t.Fatalf("read %d records, want %d", n, tc.records)
			}
		})
	}
}
