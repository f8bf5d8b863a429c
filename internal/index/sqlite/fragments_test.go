package sqlite

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// fragmentCases feed TestFragmentsRoundTrip, FuzzDecodeFragments' seeds
// and its committed corpus.
func fragmentCases() []struct {
	name string
	frs  []index.Fragment
} {
	typical := make([]index.Fragment, 60)
	for i := range typical {
		typical[i] = index.Fragment{Offset: 1200 + int64(i)*250_000, Start: time.Duration(i) * time.Second, Key: i%2 == 0}
	}
	maxStart := time.Duration(maxStartMicros) * time.Microsecond
	return []struct {
		name string
		frs  []index.Fragment
	}{
		{"empty", nil},
		{"one", []index.Fragment{{Offset: 0, Start: 0, Key: true}}},
		{"typical", typical},
		{"micros", []index.Fragment{{Offset: 700, Start: time.Microsecond}, {Offset: 701, Start: 1500 * time.Microsecond, Key: true}}},
		{"starts go back", []index.Fragment{{Offset: 10, Start: 5 * time.Second}, {Offset: 20, Start: time.Second}, {Offset: 30, Start: -time.Second}}},
		{"equal offsets", []index.Fragment{{Offset: 10, Key: true}, {Offset: 10}}},
		{"large", []index.Fragment{{Offset: 5 << 40, Start: 48 * time.Hour}, {Offset: math.MaxInt64, Start: maxStart, Key: true}}},
		{"min start", []index.Fragment{{Offset: 1, Start: -maxStart}}},
	}
}

func TestFragmentsRoundTrip(t *testing.T) {
	for _, tt := range fragmentCases() {
		t.Run(tt.name, func(t *testing.T) {
			b, err := encodeFragments(tt.frs)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			got, err := decodeFragments(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !sameFrags(got, tt.frs) {
				t.Errorf("round trip = %v, want %v", got, tt.frs)
			}
			for split := range tt.frs {
				checkAppend(t, tt.frs, split, b)
			}
		})
	}
}

// sameFrags compares lists, treating nil and empty alike.
func sameFrags(a, b []index.Fragment) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

// checkAppend encodes frs in two appends split at i and compares with whole.
func checkAppend(t *testing.T, frs []index.Fragment, i int, whole []byte) {
	t.Helper()
	head, err := encodeFragments(frs[:i])
	if err != nil {
		t.Fatal(err)
	}
	last, err := lastFragment(head)
	if err != nil {
		t.Fatal(err)
	}
	b, err := appendFragments(head, last, frs[i:])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, whole) {
		t.Errorf("append at %d = %x, want %x", i, b, whole)
	}
}

func TestFragmentsSize(t *testing.T) {
	// One minute of one-second fragments of ~250 kB: the compactness the
	// index relies on (a 24 h camera stores 1440 of these).
	b, err := encodeFragments(fragmentCases()[2].frs)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 60*6+1 {
		t.Errorf("60 fragments take %d bytes, want <= %d", len(b), 60*6+1)
	}
}

func TestEncodeFragmentsErrors(t *testing.T) {
	tests := []struct {
		name string
		frs  []index.Fragment
	}{
		{"negative offset", []index.Fragment{{Offset: -1}}},
		{"offset goes back", []index.Fragment{{Offset: 100}, {Offset: 99}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := encodeFragments(tt.frs); !errors.Is(err, errFragOrder) {
				t.Errorf("encode error = %v, want errFragOrder", err)
			}
		})
	}
}

func TestDecodeFragmentsErrors(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"version", []byte{2, 0, 0}, errFragVersion},
		{"version only is empty list", []byte{1}, nil},
		{"missing start", []byte{1, 2}, errFragVarint},
		{"truncated offset", []byte{1, 0x80}, errFragVarint},
		{"overlong varint", append([]byte{1}, bytes.Repeat([]byte{0xff}, 11)...), errFragVarint},
		{"offset overflow", []byte{1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0x04, 0}, errFragRange},
		{"start overflow", []byte{1, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, errFragRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeFragments(tt.b)
			if !errors.Is(err, tt.want) {
				t.Errorf("decode %x error = %v, want %v", tt.b, err, tt.want)
			}
		})
	}
}

// FuzzDecodeFragments checks that decoding never panics and that whatever
// decodes re-encodes to the same list.
func FuzzDecodeFragments(f *testing.F) {
	for _, tt := range fragmentCases() {
		b, err := encodeFragments(tt.frs)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		frs, err := decodeFragments(b)
		if err != nil {
			return
		}
		again, err := encodeFragments(frs)
		if err != nil {
			t.Fatalf("decoded list does not encode: %v", err)
		}
		frs2, err := decodeFragments(again)
		if err != nil || !sameFrags(frs, frs2) {
			t.Fatalf("re-encoded list differs: %v, %v", frs2, err)
		}
	})
}

// TestFuzzCorpus keeps testdata/fuzz in step with the table cases. Run
// with VIGIL_UPDATE_CORPUS=1 to rewrite the files.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeFragments")
	for _, tt := range fragmentCases() {
		b, err := encodeFragments(tt.frs)
		if err != nil {
			t.Fatal(err)
		}
		checkCorpusFile(t, dir, tt.name, b)
	}
	for _, tt := range cursorCases() {
		b := []byte(tt.c.encode())
		checkCorpusFile(t, filepath.Join("testdata", "fuzz", "FuzzParseCursor"), tt.name, b)
	}
}

func checkCorpusFile(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
	path := filepath.Join(dir, "seed-"+strings.ReplaceAll(name, " ", "-"))
	if os.Getenv("VIGIL_UPDATE_CORPUS") != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(want), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Errorf("corpus file %s for %q is missing or stale (run with VIGIL_UPDATE_CORPUS=1): %v", path, name, err)
	}
}

// TestFragmentsDocExample keeps the example in docs/format/index.md true.
func TestFragmentsDocExample(t *testing.T) {
	b, err := encodeFragments([]index.Fragment{{Offset: 700, Key: true}, {Offset: 250700, Start: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprintf("% x", b), "01 f9 0a 00 a0 c2 1e 80 89 7a"; got != want {
		t.Errorf("encoding = %s, want %s", got, want)
	}
}
