package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vigil-video/vigil/assets/clip"
	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/testutil"
)

// streamMap serves streams by camera id.
type streamMap map[string]*stream.Stream

func (m streamMap) Stream(id string) (*stream.Stream, bool) {
	s, ok := m[id]
	return s, ok
}

var (
	admin  = auth.Principal{Username: "root", Role: auth.RoleAdmin}
	viewer = auth.Principal{Username: "ann", Role: auth.RoleViewer}
)

// get calls the snapshot handler the way the API does.
func get(t *testing.T, s *Service, p auth.Principal, camera, rawQuery string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequestWithContext(testutil.Context(t, 30e9), "GET",
		"/api/v1/cameras/"+camera+"/snapshot.jpg?"+rawQuery, nil)
	w := httptest.NewRecorder()
	s.serveSnapshot(w, r, api.Request{Principal: p, Camera: index.Camera{ID: camera}})
	return w
}

// wantJPEG checks a 200 JPEG answer and decodes it.
func wantJPEG(t *testing.T, w *httptest.ResponseRecorder) image.Image {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); ct != "image/jpeg" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	img, err := jpeg.Decode(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatalf("decode JPEG: %v", err)
	}
	return img
}

// wantError checks a JSON error answer.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body.String())
	}
	var body struct{ Error, Code string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error == "" || body.Code == "" {
		t.Fatalf("error body %q: %v", w.Body.String(), err)
	}
}

// luma returns the picture's brightness samples.
func luma(t *testing.T, img image.Image) []float64 {
	t.Helper()
	b := img.Bounds()
	out := make([]float64, 0, b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			out = append(out, (0.299*float64(r)+0.587*float64(g)+0.114*float64(bl))/257)
		}
	}
	return out
}

// stddev is the spread of the picture's brightness.
func stddev(v []float64) float64 {
	var sum, sq float64
	for _, x := range v {
		sum += x
	}
	mean := sum / float64(len(v))
	for _, x := range v {
		sq += (x - mean) * (x - mean)
	}
	return math.Sqrt(sq / float64(len(v)))
}

// diff is the mean absolute brightness difference of two same-size pictures.
func diff(t *testing.T, a, b image.Image) float64 {
	t.Helper()
	la, lb := luma(t, a), luma(t, b)
	if len(la) != len(lb) {
		t.Fatalf("sizes differ: %v and %v", a.Bounds(), b.Bounds())
	}
	var d float64
	for i := range la {
		d += math.Abs(la[i] - lb[i])
	}
	return d / float64(len(la))
}

// clipFrame decodes frame n of the embedded clip with ffmpeg, straight
// from its MP4 file: the reference the snapshots are compared to.
func clipFrame(t *testing.T, n int) image.Image {
	t.Helper()
	ffmpeg := testutil.RequireTool(t, "ffmpeg")
	dir := t.TempDir()
	src := filepath.Join(dir, "clip.mp4")
	if err := os.WriteFile(src, clip.MP4(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20e9)
	defer cancel()
	out, err := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-i", src, "-vf", fmt.Sprintf(`select=eq(n\,%d)`, n),
		"-fps_mode", "passthrough", "-frames:v", "1", "-c:v", "mjpeg", "-q:v", "2", "-f", "image2pipe", "pipe:1").Output()
	if err != nil {
		t.Fatalf("ffmpeg reference frame %d: %v", n, err)
	}
	img, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("reference frame %d: %v", n, err)
	}
	return img
}
