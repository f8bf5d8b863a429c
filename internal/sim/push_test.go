package sim

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/base"

	"github.com/vigil-video/vigil/internal/testutil"
)

// sinkEnv makes the test binary act as a sink RTSP server (see
// runSinkIfAsked), so that measuring the generator's CPU does not count
// the receiver's.
const sinkEnv = "VIGIL_SIM_SINK"

// runSinkIfAsked serves as a sink when sinkEnv is set: it prints its
// address, answers ANNOUNCE/SETUP/RECORD, discards the media, and exits
// when stdin closes.
func runSinkIfAsked() bool {
	if os.Getenv(sinkEnv) == "" {
		return false
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	fmt.Println(l.Addr().String())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			return true
		}
		go sink(c)
	}
}

// sink answers one publisher's requests, then discards what it sends.
func sink(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 1<<16)
	for {
		var req base.Request
		if err := req.Unmarshal(br); err != nil {
			return
		}
		h := base.Header{"CSeq": req.Header["CSeq"]}
		if req.Method == base.Setup {
			h["Session"] = base.HeaderValue{"12345678"}
			h["Transport"] = req.Header["Transport"]
		}
		res := base.Response{StatusCode: base.StatusOK, Header: h}
		b, _ := res.Marshal()
		if _, err := c.Write(b); err != nil {
			return
		}
		if req.Method == base.Record {
			drain(c, br)
			return
		}
	}
}

// drain discards the media. With sinkEnv=lazy it reads only every 50 ms
// from a large socket buffer, so the sender is not charged for waking the
// receiver at every write (on loopback the sender's kernel time includes
// the receive path).
func drain(c net.Conn, br *bufio.Reader) {
	if os.Getenv(sinkEnv) != "lazy" {
		_, _ = io.Copy(io.Discard, br)
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(8 << 20)
	}
	buf := make([]byte, 4<<20)
	for {
		if _, err := br.Read(buf); err != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startSink runs the sink in a child process and returns its address.
func startSink(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	mode := os.Getenv("VIGIL_BENCH_SINK") // "lazy" or default
	if mode == "" {
		mode = "1"
	}
	cmd.Env = append(os.Environ(), sinkEnv+"="+mode)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.HasPrefix(line, "ERR") {
		t.Fatalf("sink: %v %s", err, line)
	}
	return strings.TrimSpace(line)
}

// clip1080p encodes a noisy 1080p25 clip at about 4 Mbit/s.
func clip1080p(t *testing.T) *Clip {
	t.Helper()
	ffmpeg := testutil.RequireTool(t, "ffmpeg")
	path := filepath.Join(t.TempDir(), "1080p.mp4")
	out, err := exec.Command(ffmpeg, "-nostdin", "-v", "error", "-f", "lavfi",
		"-i", "testsrc2=size=1920x1080:rate=25", "-vf", "noise=alls=12:allf=t", "-t", "4",
		"-c:v", "libx264", "-preset", "ultrafast", "-b:v", "4M", "-maxrate", "4M", "-bufsize", "4M",
		"-g", "50", "-bf", "0", "-pix_fmt", "yuv420p", "-movflags", "+faststart", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	c, err := LoadClipFile(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func cpuTime() (user, sys time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// TestPushCPUCost measures the generator's CPU time per stream-second at
// 1080p25 ~4 Mbit/s against a sink in another process. It runs when
// VIGIL_BENCH is set (it takes about 15 s); VIGIL_BENCH_STREAMS sets the
// stream count (default 50), VIGIL_BENCH_TICK the senders' tick.
func TestPushCPUCost(t *testing.T) {
	if os.Getenv("VIGIL_BENCH") == "" {
		t.Skip("set VIGIL_BENCH=1 to measure the load generator")
	}
	streams := 50
	if n, err := strconv.Atoi(os.Getenv("VIGIL_BENCH_STREAMS")); err == nil && n > 0 {
		streams = n
	}
	c := clip1080p(t)
	bytes := 0
	for _, f := range c.Frames {
		for _, n := range f.NALUs {
			bytes += len(n)
		}
	}
	kbps := float64(bytes) * 8 / (float64(c.Duration) / ClockRate) / 1000
	addr := startSink(t)
	const seconds, warmup = 12, 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), seconds*time.Second)
	defer cancel()
	// steady state: CPU from warmup (connections set up) to the end
	type sample struct {
		user, sys time.Duration
		at        time.Time
	}
	first := make(chan sample, 1)
	time.AfterFunc(warmup, func() { u, s := cpuTime(); first <- sample{u, s, time.Now()} })
	tick, _ := time.ParseDuration(os.Getenv("VIGIL_BENCH_TICK"))
	res, err := Push(ctx, PushConfig{Target: "rtsp://" + addr, Cameras: streams, Clip: c, Tick: tick})
	u1, s1 := cpuTime()
	s0 := <-first
	wall := time.Since(s0.at)
	cpu := u1 - s0.user + s1 - s0.sys
	if err != nil {
		t.Fatal(err)
	}
	var frames uint64
	for _, f := range res.Frames {
		frames += f
	}
	perStreamSecond := float64(cpu.Microseconds()) / 1000 / (float64(streams) * wall.Seconds())
	t.Logf("%d streams of %dx%d@%.0f fps, %.0f kbit/s: %d frames sent; steady state over %.1f s: user %v, system %v = %.3f CPU-ms per stream-second",
		streams, c.Width, c.Height, c.FPS, kbps, frames, wall.Seconds(), (u1 - s0.user).Round(time.Millisecond),
		(s1 - s0.sys).Round(time.Millisecond), perStreamSecond)
	if want := uint64(float64(streams) * c.FPS * (seconds - 1)); frames < want {
		t.Errorf("sent %d frames, want at least %d (falling behind real time)", frames, want)
	}
	if perStreamSecond >= 1 {
		t.Errorf("%.3f CPU-ms per stream-second, target < 1", perStreamSecond)
	}
}

// TestPushToSink checks the handshake and frame count against the sink.
func TestPushToSink(t *testing.T) {
	addr := startSink(t)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	clip := shortClip(t, 25)
	res, err := Push(ctx, PushConfig{Target: "rtsp://user:pw@" + addr, Cameras: 3, Clip: clip})
	if err != nil {
		t.Fatal(err)
	}
	pk, err := packetize(clip, maxPayload)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range res.Frames {
		// 10 fps for 1.5 s, starts staggered over one GOP
		want := int((1500*time.Millisecond - pk.gopDuration()*time.Duration(i)/3) / (100 * time.Millisecond))
		if int(f) < want-3 || int(f) > want+1 {
			t.Fatalf("stream %d sent %d frames, want about %d", i, f, want)
		}
	}
	if _, err := Push(context.Background(), PushConfig{Target: "http://x"}); err == nil {
		t.Fatal("bad target accepted")
	}
	if got := redact("rtsp://user:pw@host:1/x"); got != "rtsp://host:1/x" {
		t.Fatalf("redact = %s", got)
	}
}
