package testutil

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PushOptions describe what ffmpeg publishes. Zero values take defaults.
type PushOptions struct {
	// Input, when set, is a media file to publish (looped is not needed:
	// Frames bounds the run); otherwise a test pattern is generated.
	Input string
	// Frames is the exact number of video frames sent; it defaults to 50.
	Frames int
	// Codec is the video encoder, "libx264" (default) or "libx265".
	Codec string
	// Size and FPS of the generated pattern: "320x240" at 25.
	Size string
	FPS  int
	// GOP is the keyframe interval in frames; it defaults to FPS.
	GOP int
	// BFrames is the number of B-frames (0 by default).
	BFrames int
	// Audio adds a generated AAC track.
	Audio bool
	// Transport is "tcp" (default) or "udp".
	Transport string
	// Realtime (-re) paces the input at its frame rate; on by default, set
	// NoRealtime to publish as fast as possible.
	NoRealtime bool
}

func (o PushOptions) withDefaults() PushOptions {
	if o.Frames <= 0 {
		o.Frames = 50
	}
	if o.Codec == "" {
		o.Codec = "libx264"
	}
	if o.Size == "" {
		o.Size = "320x240"
	}
	if o.FPS <= 0 {
		o.FPS = 25
	}
	if o.GOP <= 0 {
		o.GOP = o.FPS
	}
	if o.Transport == "" {
		o.Transport = "tcp"
	}
	return o
}

// args returns ffmpeg's command line.
func (o PushOptions) args(url string) []string {
	a := []string{"-nostdin", "-v", "error"}
	if !o.NoRealtime {
		a = append(a, "-re")
	}
	if o.Input != "" {
		a = append(a, "-i", o.Input)
	} else {
		a = append(a, "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%s:rate=%d", o.Size, o.FPS))
	}
	if o.Audio {
		a = append(a, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000")
	}
	a = append(a, "-map", "0:v:0")
	if o.Audio {
		a = append(a, "-map", "1:a:0", "-c:a", "aac", "-b:a", "64k")
	}
	a = append(a, "-frames:v", strconv.Itoa(o.Frames), "-c:v", o.Codec, "-pix_fmt", "yuv420p",
		"-g", strconv.Itoa(o.GOP), "-bf", strconv.Itoa(o.BFrames))
	switch o.Codec {
	case "libx264":
		a = append(a, "-preset", "ultrafast", "-x264-params", "scenecut=0")
	case "libx265":
		a = append(a, "-preset", "ultrafast", "-x265-params", "scenecut=0:log-level=error")
	}
	return append(a, "-f", "rtsp", "-rtsp_transport", o.Transport, url)
}

// StartFFmpegPush runs ffmpeg publishing exactly opts.Frames video frames
// to url (RTSP ANNOUNCE/RECORD). Wait on the returned process for the
// end; the test's cleanup kills it if still running.
func StartFFmpegPush(t testing.TB, url string, opts PushOptions) *Process {
	t.Helper()
	bin := RequireTool(t, "ffmpeg")
	opts = opts.withDefaults()
	return start(t, exec.Command(bin, opts.args(url)...))
}

// ProbeStream is one stream of a ProbeResult.
type ProbeStream struct {
	Index     int    `json:"index"`
	CodecName string `json:"codec_name"`
	CodecType string `json:"codec_type"`
	Profile   string `json:"profile"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	// NbReadFrames is the number of frames decoded (-count_frames).
	NbReadFrames string `json:"nb_read_frames"`
	Duration     string `json:"duration"`
	RFrameRate   string `json:"r_frame_rate"`
}

// Frames returns the decoded frame count (0 when not counted).
func (s ProbeStream) Frames() int {
	n, _ := strconv.Atoi(s.NbReadFrames)
	return n
}

// ProbeResult is what ffprobe and an ffmpeg decode pass say about a file.
type ProbeResult struct {
	Streams []ProbeStream `json:"streams"`
	Format  struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
	// DecodeErrors is ffmpeg's stderr when decoding the whole file; empty
	// for a clean file.
	DecodeErrors string `json:"-"`
}

// Video returns the first video stream, or the zero value.
func (r ProbeResult) Video() ProbeStream {
	for _, s := range r.Streams {
		if s.CodecType == "video" {
			return s
		}
	}
	return ProbeStream{}
}

// Duration returns the container duration in seconds.
func (r ProbeResult) Duration() float64 {
	d, _ := strconv.ParseFloat(r.Format.Duration, 64)
	return d
}

// FFprobe probes a media file: streams, decoded frame counts, duration,
// and the errors of a full decode (`ffmpeg -v error -i FILE -f null -`).
// It fails the test when ffprobe itself fails.
func FFprobe(t testing.TB, path string) ProbeResult {
	t.Helper()
	probe := RequireTool(t, "ffprobe")
	ffmpeg := RequireTool(t, "ffmpeg")
	ctx := Context(t, timeoutFor(t))
	out, err := exec.CommandContext(ctx, probe, "-v", "error", "-count_frames",
		"-show_streams", "-show_format", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v: %s", path, err, stderrOf(err))
	}
	var r ProbeResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("ffprobe %s: bad json: %v", path, err)
	}
	dec := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-v", "error", "-i", path, "-f", "null", "-")
	var stderr strings.Builder
	dec.Stderr = &stderr
	if err := dec.Run(); err != nil && stderr.Len() == 0 {
		stderr.WriteString(err.Error())
	}
	r.DecodeErrors = stderr.String()
	return r
}

// ProbeRTSP runs ffprobe on an RTSP URL (streams only, no frame count)
// over the given transport ("tcp" or "udp").
func ProbeRTSP(t testing.TB, url, transport string) (ProbeResult, error) {
	t.Helper()
	probe := RequireTool(t, "ffprobe")
	ctx := Context(t, timeoutFor(t))
	out, err := exec.CommandContext(ctx, probe, "-v", "error", "-rtsp_transport", transport,
		"-show_streams", "-show_format", "-of", "json", url).Output()
	if err != nil {
		return ProbeResult{}, fmt.Errorf("ffprobe: %w: %s", err, stderrOf(err))
	}
	var r ProbeResult
	if err := json.Unmarshal(out, &r); err != nil {
		return ProbeResult{}, fmt.Errorf("ffprobe: bad json: %w", err)
	}
	return r, nil
}

// DecodeRTSP reads and decodes `frames` video frames from an RTSP URL with
// ffmpeg and returns its stderr (empty when all went well).
func DecodeRTSP(t testing.TB, url, transport string, frames int) (string, error) {
	t.Helper()
	ffmpeg := RequireTool(t, "ffmpeg")
	ctx := Context(t, timeoutFor(t))
	cmd := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-v", "error", "-rtsp_transport", transport,
		"-i", url, "-map", "0:v:0", "-frames:v", strconv.Itoa(frames), "-f", "null", "-")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stderr.String(), err
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok { //nolint:errorlint // exec returns it unwrapped
		return tail(string(ee.Stderr), 500)
	}
	return ""
}

// timeoutFor bounds a peer command: 60 s, or less when the test's own
// deadline is nearer.
func timeoutFor(t testing.TB) time.Duration {
	d := 60 * time.Second
	if tt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := tt.Deadline(); ok && time.Until(dl)-5*time.Second < d {
			d = max(time.Until(dl)-5*time.Second, time.Second)
		}
	}
	return d
}
