package bench

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// buildVigil builds the vigil binary for tests that run it as a child
// process (hub and gateway).
func buildVigil(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build vigil with")
	}
	bin := filepath.Join(t.TempDir(), "vigil")
	cmd := exec.Command(goBin, "build", "-o", bin, "github.com/vigil-video/vigil/cmd/vigil")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build vigil: %v\n%s", err, out)
	}
	return bin
}

// The gateway mode run small: 2 cameras of the built-in clip, a 10 s
// outage at a cap of 1.5x the measured live rate. Every figure must be
// there and plausible: the drain takes about twice the outage, the hub
// receives about the cap while it lasts, and live goes on meanwhile.
func TestRunGatewaySmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a hub and a gateway for about a minute")
	}
	bin := buildVigil(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := RunGateway(ctx, GatewayConfig{Vigil: bin, Cameras: 2, Warmup: 2 * time.Second, Window: 10 * time.Second,
		Outage: 10 * time.Second, Clip: "builtin", Data: t.TempDir()}, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	checks := []struct {
		what string
		ok   bool
	}{
		{"live rate measured, about the clip's", res.LiveMbit > 0.05 && res.LiveRatio > 0.7 && res.LiveRatio < 1.3},
		{"gateway CPU measured", res.GatewayCPUms > 0 && res.CamerasPerCore > 0},
		{"gateway RSS measured", res.GatewayRSS > 1 && res.IdleRSS > 1 && res.GatewayRSS >= res.IdleRSS},
		{"hub CPU measured", res.HubCPUms > 0},
		{"cap is 1.5x live", res.CapMbit > 1.45*res.LiveMbit && res.CapMbit < 1.55*res.LiveMbit},
		{"ideal drain is 2x the outage", res.IdealDrain > 19*time.Second && res.IdealDrain < 21*time.Second},
		{"backlog built up", res.PeakBacklogMB > 0},
		// The live rate is measured in whole 1 s fragments over a 10 s
		// window of a VBR clip, so the ideal is only known to ~±20 %.
		{"drain measured, within 0.4x..3.5x of the ideal", res.Drain > 0 && res.DrainRatio > 0.4 && res.DrainRatio < 3.5},
		{"uploads resumed before the drain ended", res.Reconnect > 0 && res.Reconnect < res.Drain},
		{"live back before the drain ended", res.LiveBack > 0 && res.LiveBack < res.Drain},
		{"the hub received about the cap while draining", res.CapFraction > 0.5 && res.CapFraction < 1.1},
		{"live went on while draining", res.MinLiveDuringDrain == 2 && res.LiveMbitDuringDrain > 0},
		{"nothing dropped", res.Dropped == 0},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: no, in %s", c.what, res)
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func TestParseStraceCount(t *testing.T) {
	cases := []struct {
		name, in string
		want     float64
		err      bool
	}{
		{"fsync and syncfs", `strace: Process 12 attached with 9 threads
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 80.00    0.004000         100        40           fsync
 20.00    0.001000          83        12         1 syncfs
------ ----------- ----------- --------- --------- ----------------
100.00    0.005000          96        52         1 total
`, 52, false},
		{"none called", `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
100.00    0.000000           0         0           total
`, 0, false},
		{"no summary", "strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted\n", 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseStraceCount(c.in)
			if (err != nil) != c.err || got != c.want {
				t.Errorf("got %v, %v; want %v, error %v", got, err, c.want, c.err)
			}
		})
	}
}

func TestSummariseDrain(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var samples []drainSample
	// 100 s of drain at 1 MB/s received, 1.01 MB/s on the wire, 0.5 MB/s
	// live, every camera live but in two reports.
	for i := 0; i <= 100; i++ {
		live := 3
		switch i {
		case 5: // outside the middle
			live = 1
		case 12: // in the middle, before every camera was live again
			live = 2
		}
		at := t0.Add(time.Duration(i) * time.Second)
		samples = append(samples, drainSample{at: at, received: float64(i) * 1e6,
			wire: int64(i) * 1.01e6, live: int64(i) * 5e5, st: &gwStatus{CamerasLive: live, LastSeen: at.Format(time.RFC3339Nano)}})
	}
	var r GatewayResult
	r.Cameras = 3
	r.summariseDrain(samples, t0, t0.Add(100*time.Second), t0.Add(13*time.Second), 10e6)
	if r.DrainMbit != 8 || r.CapFraction != 0.8 || r.LiveMbitDuringDrain != 4 || r.MinLiveDuringDrain != 3 {
		t.Errorf("got %+v", r)
	}
	// Had every camera been live before that report, it would count.
	var early GatewayResult
	early.Cameras = 3
	early.summariseDrain(samples, t0, t0.Add(100*time.Second), t0.Add(11*time.Second), 10e6)
	if early.MinLiveDuringDrain != 2 {
		t.Errorf("min live %d, want 2 (the report at 12 s)", early.MinLiveDuringDrain)
	}
	if r.WireMbit < 8.07 || r.WireMbit > 8.09 {
		t.Errorf("wire %v, want 8.08", r.WireMbit)
	}
	var none GatewayResult
	none.summariseDrain(samples, time.Time{}, t0, time.Time{}, 10e6)
	if none.DrainMbit != 0 {
		t.Error("rates without a first upload")
	}
}
