package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const benchPass = "vigil-bench"

// hubProc is the hub under test, a child process.
type hubProc struct {
	cmd   *exec.Cmd
	http  string
	rtsp  string // host:port
	token string
	done  chan struct{}
}

var readyRe = regexp.MustCompile(`hub ready http=(\S+) rtsp=rtsp://(\S+)`)

func startHub(ctx context.Context, vigil, data string) (*hubProc, error) {
	h := &hubProc{done: make(chan struct{})}
	h.cmd = exec.Command(vigil, "serve", "--data", data, "--http", "127.0.0.1:0", "--rtsp", "127.0.0.1:0", "--log-level", "warn")
	h.cmd.Env = append(os.Environ(), "VIGIL_ADMIN_PASSWORD="+benchPass)
	h.cmd.Stderr = os.Stderr
	out, err := h.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := h.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start hub: %w", err)
	}
	go func() { h.cmd.Wait(); close(h.done) }()
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
		h.http, h.rtsp = m[1], m[2]
	case <-h.done:
		return nil, errors.New("hub exited before it was ready")
	case <-time.After(60 * time.Second):
		h.kill()
		return nil, errors.New("hub not ready after 60 s")
	case <-ctx.Done():
		h.kill()
		return nil, ctx.Err()
	}
	var tok struct{ Token string }
	if err := h.call("POST", "/api/v1/tokens", map[string]any{"name": "bench"}, &tok, true); err != nil {
		h.kill()
		return nil, err
	}
	h.token = tok.Token
	return h, nil
}

func (h *hubProc) call(method, path string, body, out any, basic bool) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.http+path, rd)
	if err != nil {
		return err
	}
	if basic {
		req.SetBasicAuth("admin", benchPass)
	} else {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// metric returns the sum of a Prometheus metric's samples.
func (h *hubProc) metric(name string) (float64, error) {
	req, _ := http.NewRequest("GET", h.http+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum, sc.Err()
}

func (h *hubProc) stop() error {
	h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
		return nil
	case <-time.After(60 * time.Second):
		h.kill()
		return errors.New("hub did not stop within 60 s of SIGTERM")
	}
}

func (h *hubProc) kill() {
	if h.cmd.Process != nil {
		h.cmd.Process.Kill()
	}
	<-h.done
}

// procCPU returns a process's utime+stime.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / hz, nil
}

// procRSS returns a process's resident set size in bytes.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb * 1024, nil
		}
	}
	return 0, errors.New("no VmRSS")
}

// selfCPU returns this process's user+system time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
