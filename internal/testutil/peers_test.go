package testutil

import (
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
