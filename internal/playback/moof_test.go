package playback

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/segment"
)

// moofOf builds a real moof (as the recorder writes it, tfdt version 1)
// for the given tracks and base times.
func moofOf(seq uint32, bases ...uint64) []byte {
	var runs []segment.Run
	for i, b := range bases {
		runs = append(runs, segment.Run{TrackID: uint32(i + 1), BaseTime: b,
			Samples: []segment.Sample{{Duration: 9000, Size: 10}, {Duration: 9000, Size: 20, NonSync: true}}})
	}
	h := segment.AppendFragmentHeader(nil, seq, runs)
	size := binary.BigEndian.Uint32(h)
	return h[:size]
}

// toV0 rewrites every version 1 tfdt of a moof as version 0 (4 bytes
// shorter, sizes fixed up): another writer's layout.
func toV0(moof []byte) []byte {
	out := bytes.Clone(moof)
	for {
		i := bytes.Index(out, []byte("tfdt\x01"))
		if i < 0 {
			break
		}
		v := binary.BigEndian.Uint64(out[i+8:])
		b := append(bytes.Clone(out[:i+4]), 0, 0, 0, 0)
		b = binary.BigEndian.AppendUint32(b, uint32(v))
		b = append(b, out[i+16:]...)
		binary.BigEndian.PutUint32(b[i-4:], 16)
		out = b
		// shrink the parents: the traf holding it and the moof
		t := bytes.LastIndex(out[:i], []byte("traf"))
		binary.BigEndian.PutUint32(out[t-4:], binary.BigEndian.Uint32(out[t-4:])-4)
		binary.BigEndian.PutUint32(out, binary.BigEndian.Uint32(out)-4)
	}
	return out
}

var shifts2 = []trackShift{{id: 1, ticks: 90000}, {id: 2, ticks: -480}}

var moofCases = []struct {
	name  string
	moof  []byte
	ok    bool
	bases []uint64 // tfdt after patching
}{
	{"two tracks v1", moofOf(7, 0, 1000), true, []uint64{90000, 520}},
	{"clamped at zero", moofOf(1, 5, 100), true, []uint64{90005, 0}},
	{"v0", toV0(moofOf(3, 10, 2000)), true, []uint64{90010, 1520}},
	{"v0 overflow", toV0(moofOf(3, math.MaxUint32-10)), false, nil},
	{"unknown track", moofOf(1, 0, 0, 0), false, nil},
	{"empty", nil, false, nil},
	{"not a moof", append([]byte{0, 0, 0, 8}, "mdat"...), false, nil},
	{"truncated", moofOf(1, 0)[:40], false, nil},
	{"size past the buffer", func() []byte { m := moofOf(1, 0); binary.BigEndian.PutUint32(m, 1000); return m }(), false, nil},
	{"no traf", append([]byte{0, 0, 0, 24}, "moof\x00\x00\x00\x10mfhd\x00\x00\x00\x00\x00\x00\x00\x01"...), false, nil},
	{"zero-size child", append([]byte{0, 0, 0, 16}, "moof\x00\x00\x00\x00mfhd"...), false, nil},
	{"large size header", append([]byte{0, 0, 0, 1}, "moof\x00\x00\x00\x00\x00\x00\x00\x05"...), false, nil},
}

func TestPatchMoof(t *testing.T) {
	for _, tt := range moofCases {
		t.Run(tt.name, func(t *testing.T) {
			m := bytes.Clone(tt.moof)
			err := patchMoof(m, 42, shifts2)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			if !tt.ok {
				return
			}
			if len(m) != len(tt.moof) {
				t.Fatal("size changed")
			}
			if i := bytes.Index(m, []byte("mfhd")); binary.BigEndian.Uint32(m[i+8:]) != 42 {
				t.Fatal("sequence number not patched")
			}
			got := tfdts(m)
			if len(got) != len(tt.bases) {
				t.Fatalf("%d tfdt, want %d", len(got), len(tt.bases))
			}
			for i := range got {
				if got[i] != tt.bases[i] {
					t.Fatalf("tfdt %d = %d, want %d", i, got[i], tt.bases[i])
				}
			}
		})
	}
	// Sequence 0 keeps the stored number.
	m := moofOf(9, 0)
	if err := patchMoof(m, 0, shifts2); err != nil {
		t.Fatal(err)
	}
	if i := bytes.Index(m, []byte("mfhd")); binary.BigEndian.Uint32(m[i+8:]) != 9 {
		t.Fatal("sequence number changed with seq 0")
	}
}

// tfdts returns the decode times of a moof's tfdt boxes, in order.
func tfdts(m []byte) []uint64 {
	var out []uint64
	for off := 0; ; {
		i := bytes.Index(m[off:], []byte("tfdt"))
		if i < 0 {
			return out
		}
		i += off
		if m[i+4] == 1 {
			out = append(out, binary.BigEndian.Uint64(m[i+8:]))
		} else {
			out = append(out, uint64(binary.BigEndian.Uint32(m[i+8:])))
		}
		off = i + 4
	}
}

func TestDurTicks(t *testing.T) {
	tests := []struct {
		d    string
		ts   uint32
		want int64
	}{
		{"1s", 90000, 90000},
		{"-1s", 90000, -90000},
		{"11us", 90000, 1}, // 0.99 tick
		{"5us", 90000, 0},  // 0.45 tick
		{"24h", 90000, 7776000000},
		{"2562047h", 4294967295, math.MaxInt64 / 2}, // saturates
		{"-2562047h", 4294967295, -math.MaxInt64 / 2},
		{"-2562047h47m16.854775808s", 90000, -830103483316930}, // MinInt64
	}
	for _, tt := range tests {
		d, err := time.ParseDuration(tt.d)
		if err != nil {
			t.Fatal(err)
		}
		if got := durTicks(d, tt.ts); got != tt.want {
			t.Errorf("durTicks(%s, %d) = %d, want %d", tt.d, tt.ts, got, tt.want)
		}
	}
}

// FuzzPatchMoof: the patcher never panics, never changes the length, and
// what it accepts still parses as a moof.
func FuzzPatchMoof(f *testing.F) {
	for _, tt := range moofCases {
		f.Add(tt.moof, int64(90000))
	}
	f.Fuzz(func(t *testing.T, moof []byte, shift int64) {
		m := bytes.Clone(moof)
		err := patchMoof(m, 5, []trackShift{{id: 1, ticks: shift}, {id: 2, ticks: -shift}})
		if len(m) != len(moof) {
			t.Fatal("length changed")
		}
		if err != nil {
			return
		}
		if string(m[4:8]) != "moof" {
			t.Fatal("accepted a box that is not a moof")
		}
		if !strings.Contains(string(m), "mfhd") {
			t.Fatal("accepted a moof without mfhd")
		}
	})
}
