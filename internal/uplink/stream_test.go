package uplink

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/fragrec"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func sampleFragments() []Fragment {
	initA, initB := []byte("ftyp+moov A"), []byte("ftyp+moov B")
	return []Fragment{
		{Seq: 3, Init: initA, Data: []byte("moof+mdat 3"), Start: t0, Duration: time.Second, Key: true},
		{Seq: 4, Init: initA, Data: []byte("moof+mdat 4"), Start: t0.Add(time.Second), Duration: time.Second},
		{Seq: 9, Init: initB, Data: []byte("moof+mdat 9"), Start: t0.Add(5 * time.Second), Duration: 900 * time.Millisecond, Key: true},
	}
}

func encode(t testing.TB, frags []Fragment) []byte {
	t.Helper()
	var b bytes.Buffer
	e := NewEncoder(&b)
	for _, f := range frags {
		if err := e.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func decodeAll(b []byte) ([]Fragment, error) {
	d := NewDecoder(bytes.NewReader(b))
	var out []Fragment
	for {
		f, err := d.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		f.Data = bytes.Clone(f.Data)
		out = append(out, f)
	}
}

func TestStreamRoundTrip(t *testing.T) {
	t.Parallel()
	want := sampleFragments()
	b := encode(t, want)
	if n := bytes.Count(b, []byte("ftyp+moov")); n != 2 {
		t.Errorf("stream carries %d init records, want 2 (only when the init changes)", n)
	}
	got, err := decodeAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("decoded %d fragments, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || !bytes.Equal(g.Init, w.Init) || !bytes.Equal(g.Data, w.Data) ||
			!g.Start.Equal(w.Start) || g.Duration != w.Duration || g.Key != w.Key {
			t.Errorf("fragment %d: got %+v, want %+v", i, g, w)
		}
	}
	if got, err := decodeAll(nil); err != nil || len(got) != 0 {
		t.Errorf("empty body: %d fragments, %v", len(got), err)
	}
}

func TestStreamRefused(t *testing.T) {
	t.Parallel()
	good := encode(t, sampleFragments())
	withRecords := func(recs ...[]byte) []byte {
		return append([]byte(StreamMagic), bytes.Join(recs, nil)...)
	}
	initRec := fragrec.AppendRecord(nil, fragrec.Header{Type: fragrec.TypeInit, Seq: 1}, []byte("init"))
	frag := func(seq uint64, init uint32) []byte {
		return fragrec.AppendRecord(nil, fragrec.Header{Type: fragrec.TypeFragment, Seq: seq, InitID: init}, []byte("data"))
	}
	var manyInits [][]byte
	for i := range maxInits + 1 {
		manyInits = append(manyInits, fragrec.AppendRecord(nil, fragrec.Header{Type: fragrec.TypeInit, Seq: uint64(i + 1)}, []byte("init")))
	}
	cases := []struct {
		name  string
		in    []byte
		good  int // fragments decoded before the error
		torn  bool
		words string
	}{
		{"bad magic", append([]byte("VUPLNK99"), good[8:]...), 0, false, "magic"},
		{"short magic", good[:5], 0, true, "magic"},
		{"cut in a record", good[:len(good)-3], 2, true, "after seq 4"},
		{"damaged body", flipAt(good, len(good)-2), 2, false, "checksum"},
		{"damaged header", flipAt(good, len(StreamMagic)+10), 0, false, "checksum"},
		{"unknown init", withRecords(initRec, frag(1, 2)), 0, false, "needs init 2"},
		{"seq repeats", withRecords(initRec, frag(5, 1), frag(5, 1)), 1, false, "seq 5 after 5"},
		{"seq zero", withRecords(initRec, frag(0, 1)), 0, false, "seq 0 after 0"},
		{"too many inits", withRecords(manyInits...), 0, false, "more than"},
		{"oversized init", withRecords(fragrec.AppendRecord(nil, fragrec.Header{Type: fragrec.TypeInit, Seq: 1}, make([]byte, MaxInit+1))), 0, false, "over"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeAll(tc.in)
			if err == nil || !errors.Is(err, ErrBadStream) {
				t.Fatalf("err = %v, want ErrBadStream", err)
			}
			if errors.Is(err, ErrTorn) != tc.torn || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("err = %v, want torn=%v and %q", err, tc.torn, tc.words)
			}
			if len(got) != tc.good {
				t.Fatalf("%d fragments before the error, want %d", len(got), tc.good)
			}
		})
	}
}

func flipAt(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0x5a
	return b
}

// FuzzDecoder: no input panics the decoder; what it returns has increasing
// seqs and encodes back to a stream that decodes to the same fragments.
func FuzzDecoder(f *testing.F) {
	f.Add(encode(f, sampleFragments()))
	f.Add([]byte(StreamMagic))
	f.Add(flipAt(encode(f, sampleFragments()), 60))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeAll(b)
		if err != nil && !errors.Is(err, ErrBadStream) {
			t.Fatalf("error not wrapping ErrBadStream: %v", err)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Seq <= got[i-1].Seq {
				t.Fatal("seqs do not increase")
			}
		}
		again, err := decodeAll(encode(t, got))
		if err != nil || len(again) != len(got) {
			t.Fatalf("re-encoded stream: %d fragments, %v", len(again), err)
		}
	})
}
