// Package hubproc runs `vigil serve` as a child process and waits for the
// line it prints once ready, which names the addresses it listens on. The
// hub prints that line with ReadyLine; `vigil bench` and the end-to-end
// tests start hubs with Start.
package hubproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"syscall"
	"time"
)

// ReadyLine is the line a hub prints on stdout once it serves. httpURL
// and rtspURL carry their scheme (http:// or https://, rtsp:// or rtsps://).
func ReadyLine(httpURL, rtspURL, data string) string {
	return fmt.Sprintf("vigil: hub ready http=%s rtsp=%s data=%s", httpURL, rtspURL, data)
}

var readyRe = regexp.MustCompile(`hub ready http=(\S+) rtsp=(rtsps?)://(\S+)`)

// Proc is a running hub.
type Proc struct {
	Cmd *exec.Cmd
	// HTTP is the API's base URL (http:// or https://HOST:PORT); RTSP is
	// HOST:PORT and RTSPScheme "rtsp" or "rtsps".
	HTTP, RTSP, RTSPScheme string
	done                   chan struct{}
}

// Start runs bin with args and env (the whole environment), sends its
// stderr to stderr, and waits up to within for the ready line.
func Start(ctx context.Context, bin string, args, env []string, stderr io.Writer, within time.Duration) (*Proc, error) {
	p := &Proc{Cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.Cmd.Env, p.Cmd.Stderr = env, stderr
	out, err := p.Cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.Cmd.Start(); err != nil {
		return nil, fmt.Errorf("start hub: %w", err)
	}
	go func() { p.Cmd.Wait(); close(p.done) }()
	ready := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := readyRe.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m
			}
		}
	}()
	select {
	case m := <-ready:
		p.HTTP, p.RTSPScheme, p.RTSP = m[1], m[2], m[3]
		return p, nil
	case <-p.done:
		return nil, errors.New("hub exited before it was ready")
	case <-time.After(within):
		p.Kill()
		return nil, fmt.Errorf("hub not ready after %v", within)
	case <-ctx.Done():
		p.Kill()
		return nil, ctx.Err()
	}
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Stop sends SIGTERM and waits up to within for a clean exit, then kills.
func (p *Proc) Stop(within time.Duration) error {
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(within):
		p.Kill()
		return fmt.Errorf("hub did not stop within %v of SIGTERM", within)
	}
}

// Kill kills the process (kill -9) and waits for it.
func (p *Proc) Kill() {
	p.Cmd.Process.Kill()
	<-p.done
}
