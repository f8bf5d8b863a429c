package gateway

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/uplink"
)

// TestKillChild is the gateway process of TestKill9 (it runs only when
// that test starts it).
func TestKillChild(t *testing.T) {
	dir := os.Getenv("VIGIL_GATEWAY_CHILD_DIR")
	if dir == "" {
		t.Skip("started by TestKill9 only")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	g, err := New(Config{Hub: os.Getenv("VIGIL_GATEWAY_CHILD_HUB"), Token: os.Getenv("VIGIL_GATEWAY_CHILD_TOKEN"), DataDir: dir,
		SourceBackoff: fastBackoff, UploadBackoff: fastBackoff, PushBackoff: fastBackoff}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestKill9 kills a gateway process with SIGKILL three times while it
// records and uploads a camera, then lets a last gateway drain: the hub
// ends up with every seq exactly once, contiguous, and the spool empty.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 rounds take ~20 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	simCtx, stopSim := context.WithCancel(ctx)
	defer stopSim()
	s := startSim(t, simCtx, "cam1")
	h := newFakeHub(t, uplink.Camera{ID: "cam1", Source: s.URL("cam1"), Transport: "tcp", Record: true})
	dir := t.TempDir()
	for round := range 3 {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run", "^TestKillChild$")
		cmd.Env = append(os.Environ(), "VIGIL_GATEWAY_CHILD_DIR="+dir, "VIGIL_GATEWAY_CHILD_HUB="+h.srv.URL,
			"VIGIL_GATEWAY_CHILD_TOKEN="+h.pinnedToken())
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		before := len(h.fragments("cam1"))
		waitFor(t, 30*time.Second, "3 more fragments at the hub", func() bool { return len(h.fragments("cam1")) >= before+3 })
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		t.Logf("round %d: killed with %d fragments at the hub", round+1, len(h.fragments("cam1")))
	}
	stopSim()
	g, stop := runGateway(t, Config{DataDir: dir}, nil, nil)
	waitFor(t, 20*time.Second, "the spool to drain", func() bool { return spoolPending(g) == 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	frags := h.fragments("cam1")
	wantSeqs(t, frags, 1, frags[len(frags)-1].Seq)
	if h.duplicates() != 0 || h.enrolls.Load() != 1 {
		t.Fatalf("duplicates %d, enrolments %d", h.duplicates(), h.enrolls.Load())
	}
}
