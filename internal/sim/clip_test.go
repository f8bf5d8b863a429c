package sim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestDefaultClip(t *testing.T) {
	c, err := DefaultClip()
	if err != nil {
		t.Fatal(err)
	}
	if c.Width != 768 || c.Height != 576 || len(c.Frames) != 200 || c.FPS != 10 || c.Duration != 20*ClockRate {
		t.Fatalf("clip %dx%d, %d frames, %.2f fps, duration %d", c.Width, c.Height, len(c.Frames), c.FPS, c.Duration)
	}
	for i, f := range c.Frames {
		if f.Key != (i%20 == 0) {
			t.Fatalf("frame %d key=%v; want a keyframe every 20 frames", i, f.Key)
		}
		if f.DTS != int64(i)*9000 || f.PTS != f.DTS {
			t.Fatalf("frame %d: dts %d pts %d", i, f.DTS, f.PTS)
		}
	}
}

// annexB writes frames as an Annex-B stream, with SPS and PPS before
// every keyframe.
func annexB(c *Clip, frames int) []byte {
	var b bytes.Buffer
	start := []byte{0, 0, 0, 1}
	for _, f := range c.Frames[:frames] {
		if f.Key {
			b.Write(start)
			b.Write(c.SPS)
			b.Write(start)
			b.Write(c.PPS)
		}
		for _, n := range f.NALUs {
			b.Write(start)
			b.Write(n)
		}
	}
	return b.Bytes()
}

func TestParseAnnexB(t *testing.T) {
	c, err := DefaultClip()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    []byte
		fps     float64
		frames  int
		wantErr bool
	}{
		{name: "whole clip", data: annexB(c, 200), fps: 10, frames: 200},
		{name: "one gop", data: annexB(c, 20), fps: 25, frames: 20},
		{name: "starts mid-gop", data: annexB(c, 30)[len(annexB(c, 5)):], fps: 10, frames: 10},
		{name: "no fps", data: annexB(c, 20), fps: 0, wantErr: true},
		{name: "empty", data: nil, fps: 10, wantErr: true},
		{name: "garbage", data: []byte("not h264 at all"), fps: 10, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAnnexB(tt.data, tt.fps)
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Frames) != tt.frames || got.Width != 768 || !got.Frames[0].Key {
				t.Fatalf("%d frames, %dx%d", len(got.Frames), got.Width, got.Height)
			}
			if got.FPS < tt.fps-0.01 || got.FPS > tt.fps+0.01 {
				t.Fatalf("fps %v", got.FPS)
			}
		})
	}
}

func TestLoadClipFile(t *testing.T) {
	c, err := DefaultClip()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	h264 := filepath.Join(dir, "x.h264")
	if err := os.WriteFile(h264, annexB(c, 40), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadClipFile(h264, 10)
	if err != nil || len(got.Frames) != 40 {
		t.Fatalf("annex-b file: %v", err)
	}
	bad := filepath.Join(dir, "x.mp4")
	if err := os.WriteFile(bad, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadClipFile(bad, 0); err == nil {
		t.Fatal("garbage mp4 loaded")
	}
	if _, err := LoadClipFile(filepath.Join(dir, "missing.mp4"), 0); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func FuzzParseAnnexB(f *testing.F) {
	c, err := DefaultClip()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(annexB(c, 3), 10.0)
	f.Add([]byte{0, 0, 1, 0x67}, 25.0)
	f.Fuzz(func(t *testing.T, data []byte, fps float64) {
		got, err := ParseAnnexB(data, fps)
		if err == nil && (len(got.Frames) == 0 || !got.Frames[0].Key || got.Duration <= 0) {
			t.Fatalf("accepted an unusable clip: %+v", got)
		}
	})
}

func FuzzLoadMP4(f *testing.F) {
	head, err := os.ReadFile("../../assets/clip/clip.mp4")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(head[:4096])
	f.Add([]byte("\x00\x00\x00\x08ftyp"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := LoadMP4(data)
		if err == nil && len(got.Frames) == 0 {
			t.Fatal("accepted an empty clip")
		}
	})
}

// shortClip returns the first n frames of the default clip as a clip.
func shortClip(t testing.TB, n int) *Clip {
	t.Helper()
	c, err := DefaultClip()
	if err != nil {
		t.Fatal(err)
	}
	s := *c
	s.Frames = c.Frames[:n]
	s.Duration = int64(n) * 9000
	return &s
}

func TestPacketize(t *testing.T) {
	c := shortClip(t, 21)
	p, err := packetize(c, maxPayload)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range p.frames {
		for _, pl := range f.payloads {
			if len(pl) > maxPayload {
				t.Fatalf("frame %d: payload of %d bytes", i, len(pl))
			}
		}
	}
	if _, err := packetize(&Clip{}, maxPayload); err == nil {
		t.Fatal("empty clip packetised")
	}
	if got := fmt.Sprint(p.frameDuration()); got != "100ms" {
		t.Fatalf("frame duration %s", got)
	}
}

// TestWriteFuzzCorpus regenerates testdata/fuzz from the seeds when
// VIGIL_WRITE_CORPUS is set.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("VIGIL_WRITE_CORPUS") == "" {
		t.Skip("set VIGIL_WRITE_CORPUS=1 to regenerate testdata/fuzz")
	}
	c, err := DefaultClip()
	if err != nil {
		t.Fatal(err)
	}
	mp4, err := os.ReadFile("../../assets/clip/clip.mp4")
	if err != nil {
		t.Fatal(err)
	}
	write := func(target, name, body string) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n"+body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	small := annexB(c, 1)
	write("FuzzParseAnnexB", "keyframe-head", fmt.Sprintf("[]byte(%q)\nfloat64(10)\n", small[:min(len(small), 3000)]))
	write("FuzzParseAnnexB", "sps-only", fmt.Sprintf("[]byte(%q)\nfloat64(25)\n", append([]byte{0, 0, 0, 1}, c.SPS...)))
	write("FuzzLoadMP4", "clip-head", fmt.Sprintf("[]byte(%q)\n", mp4[:4096]))
	write("FuzzLoadMP4", "ftyp-only", fmt.Sprintf("[]byte(%q)\n", mp4[:32]))
}
