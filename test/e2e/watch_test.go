package e2e

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/segment"
	"github.com/vigil-video/vigil/internal/testutil"
)

// fetchMedia has ffmpeg copy an authenticated HLS playlist (live or
// recorded) into an MP4 file, reading at most limit of it (0: all).
func (h *hubProc) fetchMedia(t *testing.T, path string, limit time.Duration) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.mp4")
	args := []string{"-nostdin", "-v", "error", "-headers", "Authorization: Bearer " + h.token + "\r\n", "-i", h.http + path}
	if limit > 0 {
		args = append(args, "-t", fmt.Sprint(limit.Seconds()))
	}
	args = append(args, "-c", "copy", "-f", "mp4", out)
	ctx := testutil.Context(t, 60*time.Second)
	cmd := exec.CommandContext(ctx, testutil.RequireTool(t, "ffmpeg"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %s: %v: %s", path, err, stderr.String())
	}
	return out
}

// get fetches path with the bearer token and returns the status and body.
func (h *hubProc) get(t *testing.T, path string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", h.http+path, nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

// framesInRange counts the recorded video frames that playback and export
// of [from, to] must contain: from the fragment that starts with a keyframe
// at or before from through the fragment containing to.
func framesInRange(t *testing.T, data string, segs []index.Segment, from, to time.Time) int {
	t.Helper()
	type frag struct {
		start   time.Time
		key     bool
		samples int
	}
	var frags []frag
	for _, s := range segs {
		f, err := os.Open(filepath.Join(data, "recordings", filepath.FromSlash(s.Path)))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		res, err := segment.Scan(f, st.Size())
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, fi := range res.Fragments {
			start := s.Start.Add(segment.Ticks(fi.BaseTime, res.Timescale()))
			frags = append(frags, frag{start: start, key: fi.Key, samples: fi.Samples})
		}
	}
	first := -1
	for i, f := range frags {
		if f.key && !f.start.After(from) {
			first = i
		}
	}
	if first < 0 {
		t.Fatalf("no keyframe fragment at or before %v", from)
	}
	n := 0
	for i := first; i < len(frags) && frags[i].start.Before(to); i++ {
		n += frags[i].samples
	}
	return n
}

// An H.264 camera from a third-party RTSP server (GStreamer) is watched the
// ways a user does: ffmpeg reads live.m3u8 and playback.m3u8 and decodes
// them with no error, the recorded range holds exactly the frames the
// recording has there, the export plays, and snapshots decode.
func TestWatchH264Camera(t *testing.T) {
	cam := testutil.StartGstCamera(t, testutil.GstOptions{Audio: "aac"})
	data := filepath.Join(t.TempDir(), "data")
	h := startHub(t, data, fmt.Sprintf(`record: {segment: 4s}
cameras: [{id: gst, source: %q}]
`, cam))
	h.waitState("gst", "online", 20*time.Second)
	start := time.Now()
	time.Sleep(12 * time.Second)

	t.Run("live hls", func(t *testing.T) {
		p := testutil.FFprobe(t, h.fetchMedia(t, "/api/v1/cameras/gst/live.m3u8", 4*time.Second))
		if p.DecodeErrors != "" {
			t.Fatalf("live decode errors: %s", p.DecodeErrors)
		}
		if v := p.Video(); v.CodecName != "h264" || v.Frames() < 3*25 {
			t.Fatalf("live: codec %s, %d frames; want h264 and at least 75", v.CodecName, v.Frames())
		}
	})

	from, to := start.Add(3*time.Second+300*time.Millisecond), start.Add(9*time.Second+500*time.Millisecond)
	q := fmt.Sprintf("from=%s&to=%s", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	want := framesInRange(t, data, indexSegments(t, data, "gst"), from, to)
	t.Run("playback hls", func(t *testing.T) {
		p := testutil.FFprobe(t, h.fetchMedia(t, "/api/v1/cameras/gst/playback.m3u8?"+q, 0))
		if p.DecodeErrors != "" {
			t.Fatalf("playback decode errors: %s", p.DecodeErrors)
		}
		if got := p.Video().Frames(); got != want {
			t.Fatalf("playback of %v..%v: %d frames, the recording holds %d there", from, to, got, want)
		}
	})
	t.Run("export", func(t *testing.T) {
		status, hdr, body := h.get(t, "/api/v1/cameras/gst/export?reason=e2e&"+q)
		if status != 200 {
			t.Fatalf("export: %d %s", status, body)
		}
		if ct := hdr.Get("Content-Type"); ct != "video/mp4" {
			t.Errorf("export content type %q", ct)
		}
		out := filepath.Join(t.TempDir(), "export.mp4")
		if err := os.WriteFile(out, body, 0o600); err != nil {
			t.Fatal(err)
		}
		p := testutil.FFprobe(t, out)
		if p.DecodeErrors != "" {
			t.Fatalf("export decode errors: %s", p.DecodeErrors)
		}
		if got := p.Video().Frames(); got != want {
			t.Fatalf("export of %v..%v: %d frames, the recording holds %d there", from, to, got, want)
		}
		if len(p.Streams) != 2 {
			t.Errorf("export has %d streams, want video and audio", len(p.Streams))
		}
	})
	t.Run("snapshots", func(t *testing.T) {
		for _, path := range []string{
			"/api/v1/cameras/gst/snapshot.jpg",
			"/api/v1/cameras/gst/snapshot.jpg?at=" + url.QueryEscape(start.Add(5*time.Second).UTC().Format(time.RFC3339Nano)),
		} {
			status, hdr, body := h.get(t, path)
			if status != 200 || hdr.Get("Content-Type") != "image/jpeg" {
				t.Fatalf("%s: %d %s %.200s", path, status, hdr.Get("Content-Type"), body)
			}
			img, err := jpeg.Decode(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 360 {
				t.Errorf("%s: %v, want 640x360", path, b)
			}
		}
	})
	t.Run("bad input", func(t *testing.T) {
		now := time.Now().UTC()
		ts := func(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339Nano)) }
		cases := []struct {
			name, path string
			want       int
		}{
			{"from after to", "/api/v1/cameras/gst/playback.m3u8?from=" + ts(now) + "&to=" + ts(now.Add(-time.Minute)), 400},
			{"malformed from", "/api/v1/cameras/gst/playback.m3u8?from=yesterday&to=" + ts(now), 400},
			{"no footage", "/api/v1/cameras/gst/playback.m3u8?from=" + ts(now.Add(-48*time.Hour)) + "&to=" + ts(now.Add(-47*time.Hour)), 404},
			{"huge range", "/api/v1/cameras/gst/playback.m3u8?from=" + ts(now.Add(-400*24*time.Hour)) + "&to=" + ts(now), 400},
			{"unknown camera", "/api/v1/cameras/nope/playback.m3u8?from=" + ts(now.Add(-time.Minute)) + "&to=" + ts(now), 404},
			{"bad camera id", "/api/v1/cameras/..%2Fetc/live.m3u8", 404},
			{"export without reason", "/api/v1/cameras/gst/export?" + q, 400},
			{"export from after to", "/api/v1/cameras/gst/export?reason=x&from=" + ts(now) + "&to=" + ts(now.Add(-time.Minute)), 400},
			{"snapshot malformed at", "/api/v1/cameras/gst/snapshot.jpg?at=12:00", 400},
			{"snapshot no footage", "/api/v1/cameras/gst/snapshot.jpg?at=" + ts(now.Add(-48*time.Hour)), 404},
			{"unknown segment", "/api/v1/cameras/gst/segments/999999", 404},
		}
		for _, tc := range cases {
			status, hdr, body := h.get(t, tc.path)
			if status != tc.want && !(tc.want == 404 && status == 400 && tc.name == "bad camera id") {
				t.Errorf("%s: status %d, want %d: %.200s", tc.name, status, tc.want, body)
				continue
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || !bytes.Contains(body, []byte(`"error"`)) {
				t.Errorf("%s: answer is not a JSON error: %s %.200s", tc.name, ct, body)
			}
		}
	})
	h.stop()
}

// An H.265 camera is recorded untouched, and browsers get it live as H.264
// through the shared on-demand transcode.
func TestWatchH265CameraLive(t *testing.T) {
	cam := testutil.StartGstCamera(t, testutil.GstOptions{Codec: testutil.GstH265})
	data := filepath.Join(t.TempDir(), "data")
	h := startHub(t, data, fmt.Sprintf(`record: {segment: 4s}
cameras: [{id: hevc, source: %q}]
`, cam))
	h.waitState("hevc", "online", 20*time.Second)
	time.Sleep(3 * time.Second)
	p := testutil.FFprobe(t, h.fetchMedia(t, "/api/v1/cameras/hevc/live.m3u8", 4*time.Second))
	if p.DecodeErrors != "" {
		t.Fatalf("live decode errors: %s", p.DecodeErrors)
	}
	if v := p.Video(); v.CodecName != "h264" || v.Frames() < 2*25 {
		t.Fatalf("live: codec %s, %d frames; want h264 (transcoded) and at least 50", v.CodecName, v.Frames())
	}
	h.stop()
	segs := indexSegments(t, data, "hevc")
	rec := testutil.FFprobe(t, filepath.Join(data, "recordings", filepath.FromSlash(segs[0].Path)))
	if rec.Video().CodecName != "hevc" {
		t.Fatalf("recording codec %s, want hevc untouched", rec.Video().CodecName)
	}
}
