// Package testutil runs real third-party peers for end-to-end tests:
// GStreamer's RTSP server as a camera, ffmpeg as a publisher, and ffprobe
// and ffmpeg to check what Vigil produced.
//
// A missing tool skips the test, unless the environment variable
// VIGIL_REQUIRE_PEERS is set (CI), in which case the test fails.
package testutil

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// RequirePeersEnv is the environment variable that turns a missing peer
// into a test failure.
const RequirePeersEnv = "VIGIL_REQUIRE_PEERS"

// GstPython is the interpreter that has GStreamer's gi bindings.
const GstPython = "/usr/bin/python3"

// RequireTool returns the path of an executable, or skips (fails when
// VIGIL_REQUIRE_PEERS is set) the test when it is missing.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		missing(t, name+" not found in PATH")
	}
	return path
}

func missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv(RequirePeersEnv) != "" {
		t.Fatalf("required test peer missing: %s (%s is set)", what, RequirePeersEnv)
	}
	t.Skipf("test peer missing: %s (set %s to make this a failure)", what, RequirePeersEnv)
}

// Context returns a context cancelled after d or at the end of the test.
func Context(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Process is a peer process started for a test.
type Process struct {
	cmd    *exec.Cmd
	done   chan struct{}
	err    error
	mu     sync.Mutex
	stderr bytes.Buffer
	stdout bytes.Buffer
}

// start runs cmd; the test's cleanup kills it and waits for it.
func start(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout = lockedWriter{&p.mu, &p.stdout}
	cmd.Stderr = lockedWriter{&p.mu, &p.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// Wait waits for the process to exit or ctx to end.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stderr returns what the process wrote to stderr so far.
func (p *Process) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// Stdout returns what the process wrote to stdout so far.
func (p *Process) Stdout() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

// Write implements io.Writer.
func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// tail returns the last n bytes of s, for error messages.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
