package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/media"
)

// A 1920x1080 H.264 baseline SPS and a PPS.
var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0x20}
	testPPS = []byte{0x68, 0xce, 0x3c, 0x80}
)

func testTracks() []media.Track {
	return []media.Track{
		{ID: 0, Codec: media.CodecH264, ClockRate: 90000, SPS: testSPS, PPS: testPPS},
		{ID: 1, Codec: media.CodecAAC, ClockRate: 48000, AACConfig: []byte{0x11, 0x90}, SampleRate: 48000, ChannelCount: 2},
	}
}

// buildFile makes a segment of n fragments of 25 video frames (3600 ticks)
// and 10 audio frames each.
func buildFile(t testing.TB, n int) []byte {
	t.Helper()
	file, _ := buildPadded(t, n, false)
	return file
}

// buildPadded builds a segment file of n fragments, padded as the recorder
// writes them when pad is set, and returns where each fragment's moof+mdat
// ends.
func buildPadded(t testing.TB, n int, pad bool) ([]byte, []int64) {
	t.Helper()
	init, err := Init(testTracks())
	if err != nil {
		t.Fatal(err)
	}
	buf := append([]byte(nil), init...)
	padTo := func() {
		if pad {
			for _, b := range Padding(int64(len(buf))) {
				buf = append(buf, b...)
			}
		}
	}
	padTo()
	var ends []int64
	for f := 0; f < n; f++ {
		var vs, as []Sample
		var payload []byte
		for i := 0; i < 25; i++ {
			vs = append(vs, Sample{Duration: 3600, Size: 10, NonSync: i != 0, CTO: int32(i % 2 * 3600)})
		}
		for i := 0; i < 10; i++ {
			as = append(as, Sample{Duration: 1024, Size: 5})
		}
		runs := []Run{
			{TrackID: 1, BaseTime: uint64(f * 25 * 3600), Samples: vs},
			{TrackID: 2, BaseTime: uint64(f * 10 * 1024), Samples: as},
		}
		buf = AppendFragmentHeader(buf, uint32(f+1), runs)
		payload = bytes.Repeat([]byte{0xAB}, 25*10+10*5)
		buf = append(buf, payload...)
		ends = append(ends, int64(len(buf)))
		padTo()
	}
	return buf, ends
}

func TestPadding(t *testing.T) {
	for _, n := range []int64{0, 1, 100, Align - 8, Align - 7, Align - 1, Align, Align + 1, 10*Align + 4000} {
		var total int64
		bufs := Padding(n)
		for _, b := range bufs {
			total += int64(len(b))
		}
		if (n+total)%Align != 0 {
			t.Errorf("n=%d: padding of %d leaves %d unaligned", n, total, (n+total)%Align)
		}
		if n%Align == 0 {
			if bufs != nil {
				t.Errorf("n=%d: aligned, padded with %d", n, total)
			}
			continue
		}
		box := bytes.Join(bufs, nil)
		if total < 8 || total >= Align+8 || string(box[4:8]) != "free" || int64(binary.BigEndian.Uint32(box)) != total {
			t.Errorf("n=%d: padding box %q of %d bytes", n, box[:min(8, len(box))], total)
		}
	}
}

// Padded files (as the recorder writes them) scan to the same fragments,
// each with its padding, and a cut anywhere keeps every fragment whose
// moof and mdat are whole, even if its padding is not.
func TestScanPadded(t *testing.T) {
	plain := buildFile(t, 3)
	ref, _ := Scan(bytes.NewReader(plain), int64(len(plain)))
	file, ends := buildPadded(t, 3, true)
	res, err := Scan(bytes.NewReader(file), int64(len(file)))
	if err != nil || res.Tail != nil || res.ValidSize != int64(len(file)) || len(res.Fragments) != 3 {
		t.Fatalf("padded scan: %+v, %v", res, err)
	}
	if res.InitSize%Align != 0 || !bytes.Equal(TrimPadding(file[:res.InitSize]), plain[:ref.InitSize]) {
		t.Fatalf("init %d bytes", res.InitSize)
	}
	for i, f := range res.Fragments {
		r := ref.Fragments[i]
		if f.Offset%Align != 0 || (f.Offset+f.Size)%Align != 0 || f.BaseTime != r.BaseTime || f.Duration != r.Duration || f.Samples != r.Samples {
			t.Fatalf("fragment %d: %+v, unpadded %+v", i, f, r)
		}
		if got := TrimPadding(file[f.Offset : f.Offset+f.Size]); !bytes.Equal(got, plain[r.Offset:r.Offset+r.Size]) {
			t.Fatalf("fragment %d: trimmed %d bytes, want %d", i, len(got), r.Size)
		}
	}
	for cut := res.InitSize; cut < int64(len(file)); cut += 7 {
		got, err := Scan(bytes.NewReader(file[:cut]), cut)
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		want := 0
		for _, e := range ends {
			if e <= cut {
				want++
			}
		}
		if len(got.Fragments) != want || got.ValidSize > cut {
			t.Fatalf("cut %d: %d fragments (valid %d), want %d", cut, len(got.Fragments), got.ValidSize, want)
		}
	}
}

func TestScanRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 3, 60} {
		file := buildFile(t, n)
		res, err := Scan(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if res.Tail != nil || res.ValidSize != int64(len(file)) || len(res.Fragments) != n {
			t.Fatalf("n=%d: tail=%v valid=%d/%d frags=%d", n, res.Tail, res.ValidSize, len(file), len(res.Fragments))
		}
		if len(res.Tracks) != 2 || !res.Tracks[0].Video || res.Timescale() != 90000 {
			t.Fatalf("tracks %+v", res.Tracks)
		}
		for i, f := range res.Fragments {
			if f.BaseTime != uint64(i*25*3600) || f.Duration != 25*3600 || !f.Key || f.Samples != 25 {
				t.Fatalf("fragment %d: %+v", i, f)
			}
		}
		if want := time.Duration(n) * time.Second; res.Duration() != want {
			t.Fatalf("duration %v, want %v", res.Duration(), want)
		}
	}
}

// Every truncation point keeps exactly the complete fragments before it.
func TestScanTruncated(t *testing.T) {
	file := buildFile(t, 3)
	full, _ := Scan(bytes.NewReader(file), int64(len(file)))
	for cut := int64(0); cut < int64(len(file)); cut++ {
		res, err := Scan(bytes.NewReader(file[:cut]), cut)
		if cut < full.InitSize {
			if !errors.Is(err, ErrNotSegment) {
				t.Fatalf("cut %d inside init: err %v", cut, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		want := 0
		for _, f := range full.Fragments {
			if f.Offset+f.Size <= cut {
				want++
			}
		}
		if len(res.Fragments) != want {
			t.Fatalf("cut %d: %d fragments, want %d", cut, len(res.Fragments), want)
		}
		if res.ValidSize > cut || (res.ValidSize < cut && res.Tail == nil) {
			t.Fatalf("cut %d: valid %d tail %v", cut, res.ValidSize, res.Tail)
		}
	}
}

func TestScanGarbageTail(t *testing.T) {
	file := buildFile(t, 2)
	good := int64(len(file))
	file = append(file, []byte("\x00\x00\x00\x10moofgarbagegarbage")...)
	res, err := Scan(bytes.NewReader(file), int64(len(file)))
	if err != nil || res.ValidSize != good || len(res.Fragments) != 2 || res.Tail == nil {
		t.Fatalf("res %+v err %v", res, err)
	}
}

func TestKeyRoundTrip(t *testing.T) {
	start := time.Date(2026, 11, 29, 9, 30, 12, 345678000, time.UTC)
	key := Key("gate-1", start)
	if key != "gate-1/2026-11-29/20261129T093012.345678Z.mp4" {
		t.Fatalf("key %s", key)
	}
	cam, got, err := ParseKey(key)
	if err != nil || cam != "gate-1" || !got.Equal(start) {
		t.Fatalf("parse: %s %v %v", cam, got, err)
	}
	for _, bad := range []string{"", "a/b", "a/b/c.mp4", "/x/20261129T093012.345678Z.mp4", "a/b/20261129T093012.345678Z.txt"} {
		if _, _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}

func TestInitRejectsMissingParams(t *testing.T) {
	tr := testTracks()
	tr[0].SPS = nil
	if _, err := Init(tr); err == nil {
		t.Fatal("init without SPS accepted")
	}
	if _, err := Init([]media.Track{{Codec: media.CodecG711A, ClockRate: 8000}}); err == nil {
		t.Fatal("g711 accepted")
	}
}

func FuzzScan(f *testing.F) {
	for _, n := range []int{0, 1, 2} {
		f.Add(buildFile(f, n))
	}
	file := buildFile(f, 2)
	f.Add(file[:len(file)-7])
	f.Add([]byte("\x00\x00\x00\x08ftyp\x00\x00\x00\x08moov"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Scan(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if res.ValidSize > int64(len(data)) || res.ValidSize < res.InitSize {
			t.Fatalf("valid size %d out of range", res.ValidSize)
		}
		// The valid prefix must scan clean on its own.
		again, err := Scan(bytes.NewReader(data[:res.ValidSize]), res.ValidSize)
		if err != nil || again.Tail != nil || len(again.Fragments) != len(res.Fragments) {
			t.Fatalf("valid prefix does not rescan clean: %v %v", err, again)
		}
	})
}
