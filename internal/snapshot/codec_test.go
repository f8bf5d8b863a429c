package snapshot

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/testutil"
)

// nalKinds says what a codec's NAL unit is, from its header.
type nalKinds struct {
	vps, sps, pps, vcl, key func(nal []byte) bool
}

var (
	h264Kinds = nalKinds{
		vps: func([]byte) bool { return false },
		sps: func(n []byte) bool { return n[0]&0x1f == 7 },
		pps: func(n []byte) bool { return n[0]&0x1f == 8 },
		vcl: func(n []byte) bool { t := n[0] & 0x1f; return t >= 1 && t <= 5 },
		key: func(n []byte) bool { return n[0]&0x1f == 5 },
	}
	h265Kinds = nalKinds{
		vps: func(n []byte) bool { return (n[0]>>1)&0x3f == 32 },
		sps: func(n []byte) bool { return (n[0]>>1)&0x3f == 33 },
		pps: func(n []byte) bool { return (n[0]>>1)&0x3f == 34 },
		vcl: func(n []byte) bool { return (n[0]>>1)&0x3f < 32 },
		key: func(n []byte) bool { t := (n[0] >> 1) & 0x3f; return t >= 16 && t <= 23 },
	}
)

// splitAnnexB returns the NAL units of an Annex-B stream.
func splitAnnexB(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+3 <= len(b); i++ {
		if b[i] != 0 || b[i+1] != 0 || b[i+2] != 1 {
			continue
		}
		if start >= 0 {
			out = append(out, bytes.TrimRight(b[start:i], "\x00"))
		}
		start = i + 3
		i += 2
	}
	if start >= 0 && start < len(b) {
		out = append(out, b[start:])
	}
	return out
}

// accessUnits groups an encoder's NAL units into one unit per frame (one
// slice per frame), parameter sets kept in front of keyframes.
func accessUnits(t *testing.T, nalus [][]byte, k nalKinds) (media.Track, []*media.AccessUnit) {
	t.Helper()
	var tr media.Track
	var aus []*media.AccessUnit
	var pending [][]byte
	for _, n := range nalus {
		switch {
		case k.vps(n):
			tr.VPS = n
		case k.sps(n):
			tr.SPS = n
		case k.pps(n):
			tr.PPS = n
		}
		pending = append(pending, n)
		if k.vcl(n) {
			pts := int64(len(aus)) * 9000
			aus = append(aus, &media.AccessUnit{PTS: pts, DTS: pts, Key: k.key(n), NALUs: pending})
			pending = nil
		}
	}
	if len(aus) == 0 || tr.SPS == nil {
		t.Fatal("the encoder's output holds no frame")
	}
	return tr, aus
}

// Live snapshots decode H.264 and H.265 streams from other encoders too:
// ffmpeg's libx264 and libx265 test patterns, keyframe every 10 frames;
// the snapshot after frame 26 is frame 26 (not the GOP's keyframe 20).
func TestLiveSnapshotCodecs(t *testing.T) {
	ffmpeg := testutil.RequireTool(t, "ffmpeg")
	cases := []struct {
		name, encoder, format string
		codec                 media.Codec
		kinds                 nalKinds
		params                []string
	}{
		{"h264", "libx264", "h264", media.CodecH264, h264Kinds, []string{"-x264-params", "keyint=10:scenecut=0:bframes=0"}},
		{"h265", "libx265", "hevc", media.CodecH265, h265Kinds, []string{"-x265-params", "keyint=10:scenecut=0:bframes=0:log-level=error"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := filepath.Join(t.TempDir(), "clip."+tc.format)
			ctx := testutil.Context(t, 30e9)
			args := append([]string{"-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10", "-frames:v", "30",
				"-c:v", tc.encoder, "-preset", "ultrafast", "-pix_fmt", "yuv420p"}, tc.params...)
			args = append(args, "-f", tc.format, "-y", raw)
			if out, err := exec.CommandContext(ctx, ffmpeg, args...).CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg cannot encode %s: %v: %s", tc.encoder, err, out)
			}
			data := mustRead(t, raw)
			tr, aus := accessUnits(t, splitAnnexB(data), tc.kinds)
			tr.Codec, tr.ClockRate, tr.Width, tr.Height = tc.codec, 90000, 320, 240

			st := stream.New("cam", stream.Options{})
			p := st.Publish([]media.Track{tr})
			defer p.Close()
			for _, au := range aus[:27] {
				if err := p.Write(au); err != nil {
					t.Fatal(err)
				}
			}
			s := New(Config{}, Deps{Streams: streamMap{"cam": st}})
			img := wantJPEG(t, get(t, s, admin, "cam", ""))
			if b := img.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
				t.Fatalf("picture %v, want 320x240", b)
			}
			last := diff(t, img, rawFrame(t, ffmpeg, raw, tc.format, 26))
			key := diff(t, img, rawFrame(t, ffmpeg, raw, tc.format, 20))
			t.Logf("difference to frame 26: %.2f, to keyframe 20: %.2f", last, key)
			if last > 3 || last >= key {
				t.Errorf("not the last frame: difference %.2f to frame 26, %.2f to frame 20", last, key)
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rawFrame decodes frame n of an elementary stream file.
func rawFrame(t *testing.T, ffmpeg, path, format string, n int) image.Image {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20e9)
	defer cancel()
	out, err := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-f", format, "-i", path, "-vf", fmt.Sprintf(`select=eq(n\,%d)`, n),
		"-fps_mode", "passthrough", "-frames:v", "1", "-c:v", "mjpeg", "-q:v", "2", "-f", "image2pipe", "pipe:1").Output()
	if err != nil {
		t.Fatalf("reference frame %d: %v", n, err)
	}
	img, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("reference frame %d: %v", n, err)
	}
	return img
}
