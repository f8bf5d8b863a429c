package record

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/media"
)

// smallFragments cuts a few fragments of synthetic H.264 and AAC (tiny
// payloads) with a Fragmenter, for fuzz seeds.
func smallFragments() []Fragment {
	var out []Fragment
	fr := NewFragmenter("cam1", Config{FragmentDuration: 200 * time.Millisecond}, func(f Fragment) { out = append(out, f) },
		slog.New(slog.DiscardHandler))
	fr.Begin(tracks())
	for i := 0; i < 12; i++ {
		dts := int64(i) * 3600
		wall := t0.Add(time.Duration(i) * 40 * time.Millisecond)
		fr.Write(&media.AccessUnit{Track: 0, DTS: dts, PTS: dts + 3600, Wall: wall, Key: i%6 == 0, NALUs: [][]byte{{0x65, byte(i)}}})
		a := int64(i) * 1920
		fr.Write(&media.AccessUnit{Track: 1, DTS: a, PTS: a, Wall: wall, Key: true, Payload: []byte{1, 2, byte(i)}})
	}
	fr.End()
	return out
}

// FuzzImportFragment feeds arbitrary init and fragment bytes (what a
// gateway uploads) to the importer's parser: it must never panic, and a
// fragment it accepts must still parse, with the same samples, after
// being patched for a hub segment.
func FuzzImportFragment(f *testing.F) {
	for _, fr := range smallFragments() {
		f.Add(fr.Init, fr.Data)
	}
	f.Fuzz(func(t *testing.T, init, data []byte) {
		l, err := parseInit(init)
		if err != nil {
			return
		}
		fi, err := parseFragment(l, data)
		if err != nil {
			return
		}
		s := &importSeg{start: t0, next: map[uint32]int64{}}
		patched, err := s.rebase(l, fi, append([]byte(nil), data...), t0.Add(50*time.Millisecond))
		if err != nil {
			return
		}
		fi2, err := parseFragment(l, patched)
		if err != nil {
			t.Fatalf("patched fragment does not parse: %v", err)
		}
		if fi2.ref(l.ref).samples != fi.ref(l.ref).samples {
			t.Fatalf("patching changed the video samples: %d -> %d", fi.ref(l.ref).samples, fi2.ref(l.ref).samples)
		}
	})
}

// TestWriteImportFuzzCorpus regenerates testdata/fuzz/FuzzImportFragment
// when VIGIL_WRITE_CORPUS is set.
func TestWriteImportFuzzCorpus(t *testing.T) {
	if os.Getenv("VIGIL_WRITE_CORPUS") == "" {
		t.Skip("set VIGIL_WRITE_CORPUS=1 to regenerate testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzImportFragment")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	frs := smallFragments()
	for i, fr := range frs[:3] {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n[]byte(%q)\n", fr.Init, fr.Data)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("fragment-%d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A fragment whose moof claims more samples than the mdat holds.
	bad := append([]byte(nil), frs[0].Data...)
	bad = bad[:len(bad)-2]
	body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n[]byte(%q)\n", frs[0].Init, bad)
	if err := os.WriteFile(filepath.Join(dir, "truncated"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
