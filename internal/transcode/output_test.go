package transcode

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/testutil"
)

func box(typ string, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
	return append(append(b, typ...), body...)
}

// readOutputCases are malformed outputs; each must end with an error, not
// a panic or a hang. They seed FuzzReadOutput.
var readOutputCases = []struct {
	name string
	in   []byte
	want error
}{
	{"empty", nil, io.EOF},
	{"short header", []byte{0, 0, 0}, io.ErrUnexpectedEOF},
	{"size below header", []byte{0, 0, 0, 4, 'f', 't', 'y', 'p'}, errBadBox},
	{"huge box", []byte{0xff, 0xff, 0xff, 0xff, 'm', 'd', 'a', 't'}, errBoxLarge},
	{"huge 64-bit box", []byte{0, 0, 0, 1, 'm', 'd', 'a', 't', 0xff, 0, 0, 0, 0, 0, 0, 0}, errBoxLarge},
	{"truncated body", []byte{0, 0, 0, 20, 'f', 'r', 'e', 'e', 1, 2}, errBadBox},
	{"mdat before init", box("mdat", []byte{1, 2, 3}), errNoInit},
	{"moof then mdat without init", append(box("moof", nil), box("mdat", nil)...), errNoInit},
	{"garbage moov", append(box("ftyp", []byte("isom")), box("moov", []byte{0, 0, 0, 9, 'x'})...), nil},
	{"skipped boxes then eof", append(box("free", []byte("x")), box("sidx", nil)...), io.EOF},
}

func TestReadOutputErrors(t *testing.T) {
	for _, c := range readOutputCases {
		t.Run(c.name, func(t *testing.T) {
			err := readOutput(bytes.NewReader(c.in), func(_, _ []byte) {}, func(_, _ int64, _ [][]byte) {})
			if err == nil {
				t.Fatal("readOutput returned nil on a finite input")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

// TestReadOutputFFmpeg parses what ffmpeg writes with the transcode's
// output options: every frame comes back, the first one with SPS and PPS.
func TestReadOutputFFmpeg(t *testing.T) {
	out := ffmpegOutput(t, 50)
	var sps, pps []byte
	n := 0
	err := readOutput(bytes.NewReader(out), func(s, p []byte) { sps, pps = s, p }, func(pts, dts int64, nalus [][]byte) {
		if pts != dts || pts != int64(n)*3600 {
			t.Errorf("frame %d: pts %d dts %d", n, pts, dts)
		}
		n++
	})
	if !errors.Is(err, io.EOF) {
		t.Fatalf("readOutput: %v", err)
	}
	if n != 50 || sps == nil || pps == nil {
		t.Fatalf("%d frames, sps %x pps %x; want 50 with parameter sets", n, sps, pps)
	}
	st := stream.New("x", stream.Options{})
	var col testutil.Collector
	st.AddReader(&col)
	times := newPTSMap()
	wall := time.Unix(1000, 0)
	for i := range 50 {
		times.put(int64(i)*3600+7200, timing{pts: int64(i)*3600 + 1e9, wall: wall.Add(time.Duration(i) * 40 * time.Millisecond)})
	}
	o := &output{dst: st, times: times, log: slog.New(slog.DiscardHandler)}
	_ = readOutput(bytes.NewReader(out), o.init, o.handle)
	o.close()
	begins, units, ends := col.State()
	if len(begins) != 1 || ends != 1 || len(units) != 50 {
		t.Fatalf("%d sessions, %d ends, %d units; want 1, 1, 50", len(begins), ends, len(units))
	}
	for i, au := range units {
		if au.PTS != int64(i)*3600+1e9 || !au.Wall.Equal(wall.Add(time.Duration(i)*40*time.Millisecond)) {
			t.Fatalf("unit %d: pts %d wall %v", i, au.PTS, au.Wall)
		}
	}
	if begins[0][0].Codec != media.CodecH264 || begins[0][0].Width != 320 {
		t.Fatalf("track %+v", begins[0][0])
	}
}

// ffmpegOutput encodes frames of a test pattern with the transcode's
// output options.
func ffmpegOutput(t testing.TB, frames int) []byte {
	t.Helper()
	ffmpeg := testutil.RequireTool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := []string{"-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
		"-frames:v", strconv.Itoa(frames)}
	full := ffmpegArgs(Config{}.withDefaults(), 25)
	for i, a := range full {
		if a == "-map" { // the output half of the transcode's command line
			args = append(args, full[i+2:]...)
			break
		}
	}
	out, err := exec.CommandContext(ctx, ffmpeg, args...).Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	return out
}

func FuzzReadOutput(f *testing.F) {
	for _, c := range readOutputCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		st := stream.New("x", stream.Options{})
		o := &output{dst: st, times: newPTSMap(), log: slog.New(slog.DiscardHandler)}
		o.times.put(0, timing{})
		if err := readOutput(bytes.NewReader(in), o.init, o.handle); err == nil {
			t.Fatal("nil error on a finite input")
		}
		o.close()
	})
}
