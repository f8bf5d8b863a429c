package testutil

import (
	"os"
	"strings"
	"testing"
)

func TestGstCameraServesH264(t *testing.T) {
	url := StartGstCamera(t, GstOptions{})
	r, err := ProbeRTSP(t, url, "tcp")
	if err != nil {
		t.Fatal(err)
	}
	if v := r.Video(); v.CodecName != "h264" || v.Width != 640 || v.Height != 360 {
		t.Fatalf("video = %+v", v)
	}
}

func TestGstCameraWithAuth(t *testing.T) {
	url := StartGstCamera(t, GstOptions{User: "u", Pass: "p", Audio: "aac"})
	if _, err := ProbeRTSP(t, url, "tcp"); err != nil {
		t.Fatalf("with credentials: %v", err)
	}
	bad := strings.Replace(url, "u:p@", "u:wrong@", 1)
	if _, err := ProbeRTSP(t, bad, "tcp"); err == nil {
		t.Fatal("wrong credentials accepted")
	}
}

func TestPushArgs(t *testing.T) {
	args := strings.Join(PushOptions{Frames: 7, Audio: true}.withDefaults().args("rtsp://h/p"), " ")
	for _, want := range []string{"-frames:v 7", "-rtsp_transport tcp", "-re", "sine=", "rtsp://h/p"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
}

func TestFFprobeFile(t *testing.T) {
	r := FFprobe(t, "../../assets/clip/clip.mp4")
	v := r.Video()
	if v.CodecName != "h264" || v.Frames() != 200 || r.Duration() < 19.9 || r.DecodeErrors != "" {
		t.Fatalf("probe %+v, duration %v, errors %q", v, r.Duration(), r.DecodeErrors)
	}
	bad := t.TempDir() + "/bad.mp4"
	if err := os.WriteFile(bad, []byte("\x00\x00\x00\x18ftypisom garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	ft := &fatalRecorder{TB: t}
	func() {
		defer func() { _ = recover() }()
		FFprobe(ft, bad)
	}()
	if !ft.failed {
		t.Fatal("FFprobe accepted a broken file")
	}
}

// fatalRecorder records Fatalf instead of stopping the test.
type fatalRecorder struct {
	testing.TB
	failed bool
}

func (f *fatalRecorder) Fatalf(string, ...any) {
	f.failed = true
	panic("fatal")
}
