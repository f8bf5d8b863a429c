package testutil

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// GstCodec selects the video encoder of a GStreamer camera.
type GstCodec string

// Video codecs of GstOptions.
const (
	GstH264 GstCodec = "h264"
	GstH265 GstCodec = "h265"
)

// GstOptions describe a GStreamer RTSP camera. Zero values take defaults.
type GstOptions struct {
	// Launch, when set, is the full gst-rtsp-server launch line
	// ("( ... rtph264pay name=pay0 ... )"); the fields below are ignored.
	Launch string
	// Codec defaults to GstH264.
	Codec GstCodec
	// Width, Height and FPS of the test picture; 640x360 at 25 fps.
	Width, Height, FPS int
	// GOP is the keyframe interval in frames; it defaults to FPS.
	GOP int
	// Audio adds an audio track: "aac", "opus" or "pcmu".
	Audio string
	// Path is the mount point; it defaults to "/cam".
	Path string
	// User and Pass, when set, protect the mount with Basic auth.
	User, Pass string
}

func (o GstOptions) withDefaults() GstOptions {
	if o.Codec == "" {
		o.Codec = GstH264
	}
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 640, 360
	}
	if o.FPS <= 0 {
		o.FPS = 25
	}
	if o.GOP <= 0 {
		o.GOP = o.FPS
	}
	if o.Path == "" {
		o.Path = "/cam"
	}
	return o
}

// launch returns the gst-rtsp-server launch line.
func (o GstOptions) launch() string {
	if o.Launch != "" {
		return o.Launch
	}
	video := fmt.Sprintf("videotestsrc is-live=true pattern=ball ! video/x-raw,width=%d,height=%d,framerate=%d/1 ! ",
		o.Width, o.Height, o.FPS)
	switch o.Codec {
	case GstH265:
		video += fmt.Sprintf("x265enc tune=zerolatency speed-preset=ultrafast key-int-max=%d ! "+
			"h265parse config-interval=-1 ! rtph265pay name=pay0 pt=96", o.GOP)
	default:
		video += fmt.Sprintf("x264enc tune=zerolatency speed-preset=ultrafast key-int-max=%d bframes=0 ! "+
			"h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96", o.GOP)
	}
	audio := ""
	switch o.Audio {
	case "aac":
		audio = " audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=48000,channels=1 ! avenc_aac ! aacparse ! rtpmp4gpay name=pay1 pt=97"
	case "opus":
		audio = " audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=48000,channels=1 ! opusenc ! rtpopuspay name=pay1 pt=97"
	case "pcmu":
		audio = " audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay name=pay1 pt=0"
	}
	return "( " + video + audio + " )"
}

const gstServerPy = `
import sys, gi
gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import Gst, GstRtspServer, GLib
Gst.init(None)
port, path, launch, user, pw = sys.argv[1:6]
server = GstRtspServer.RTSPServer()
server.set_address('127.0.0.1')
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(launch)
factory.set_shared(True)
if user:
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string('media.factory.role', 'user')
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, pw), token)
    server.set_auth(auth)
    perms = GstRtspServer.RTSPPermissions()
    perms.add_role_from_structure(Gst.Structure.from_string('user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true')[0])
    factory.set_permissions(perms)
server.get_mount_points().add_factory(path, factory)
if server.attach(None) == 0:
    print('ATTACH-FAILED', flush=True)
    sys.exit(3)
print('READY', flush=True)
GLib.MainLoop().run()
`

// StartGstCamera runs GStreamer's RTSP server (gst-rtsp-server through
// /usr/bin/python3 and gi) on 127.0.0.1 and returns the camera's URL
// (credentials included when set). The server is killed when the test
// ends. The port is picked by binding :0 and closing, and retried when
// taken meanwhile.
func StartGstCamera(t testing.TB, opts GstOptions) string {
	t.Helper()
	RequireTool(t, GstPython)
	if err := exec.Command(GstPython, "-c",
		"import gi; gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer").Run(); err != nil {
		missing(t, "python3 gi with GstRtspServer")
	}
	opts = opts.withDefaults()
	var lastErr string
	for range 5 {
		port, err := pickPort()
		if err != nil {
			t.Fatalf("pick port: %v", err)
		}
		p := start(t, exec.Command(GstPython, "-c", gstServerPy,
			strconv.Itoa(port), opts.Path, opts.launch(), opts.User, opts.Pass))
		if waitReady(p, 20*time.Second) {
			return cameraURL(port, opts)
		}
		_ = p.cmd.Process.Kill()
		<-p.done
		lastErr = tail(p.Stdout()+p.Stderr(), 500)
	}
	t.Fatalf("gstreamer rtsp server did not start: %s", lastErr)
	return ""
}

func cameraURL(port int, o GstOptions) string {
	cred := ""
	if o.User != "" {
		cred = o.User + ":" + o.Pass + "@"
	}
	return fmt.Sprintf("rtsp://%s127.0.0.1:%d%s", cred, port, o.Path)
}

// waitReady waits for the server's READY line, then for it to accept.
func waitReady(p *Process, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return false
		case <-time.After(20 * time.Millisecond):
		}
		if strings.Contains(p.Stdout(), "READY") {
			return true
		}
	}
	return false
}

// pickPort returns a port that was free a moment ago, for third-party
// servers that cannot bind port 0 and report it.
func pickPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
