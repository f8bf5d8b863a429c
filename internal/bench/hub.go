package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vigil-video/vigil/internal/hubproc"
)

const benchPass = "vigil-bench"

// hubProc is the hub under test, a child process, and an API token.
type hubProc struct {
	*hubproc.Proc
	token  string
	client *http.Client // trusts the hub's certificate when it serves HTTPS
}

// startHub runs `vigil serve` on data with OS-assigned loopback ports and
// the extra flags (--tls: HTTPS and RTSPS with a generated certificate).
func startHub(ctx context.Context, vigil, data string, extra ...string) (*hubProc, error) {
	args := append([]string{"serve", "--data", data, "--http", "127.0.0.1:0", "--rtsp", "127.0.0.1:0", "--log-level", "warn"}, extra...)
	p, err := hubproc.Start(ctx, vigil, args,
		append(os.Environ(), "VIGIL_ADMIN_PASSWORD="+benchPass), os.Stderr, 60*time.Second)
	if err != nil {
		return nil, err
	}
	h := &hubProc{Proc: p, client: http.DefaultClient}
	if strings.HasPrefix(p.HTTP, "https://") {
		if h.client, err = trustingClient(filepath.Join(data, "tls", "cert.pem")); err != nil {
			h.Kill()
			return nil, err
		}
	}
	var tok struct{ Token string }
	if err := h.call("POST", "/api/v1/tokens", map[string]any{"name": "bench"}, &tok, true); err != nil {
		h.Kill()
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
	req, err := http.NewRequest(method, h.HTTP+path, rd)
	if err != nil {
		return err
	}
	if basic {
		req.SetBasicAuth("admin", benchPass)
	} else {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	resp, err := h.client.Do(req)
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

// trustingClient returns an HTTP client that trusts the certificate in
// the PEM file certPath (the hub's generated self-signed one).
func trustingClient(certPath string) (*http.Client, error) {
	pemBytes, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("hub certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("hub certificate: no certificate in %s", certPath)
	}
	return &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, nil
}

// metric returns the sum of a Prometheus metric's samples.
func (h *hubProc) metric(name string) (float64, error) {
	req, _ := http.NewRequest("GET", h.HTTP+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := h.client.Do(req)
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

// setDefaults fills in what a benchmark runs and where: vigil defaults to
// this binary; data to a new temporary directory (prefix) that the
// returned cleanup removes unless keep.
func setDefaults(vigil, data *string, prefix string, keep bool) (cleanup func(), err error) {
	cleanup = func() {}
	if *vigil == "" {
		exe, err := os.Executable()
		if err != nil {
			return cleanup, fmt.Errorf("bench: find the vigil binary: %w", err)
		}
		*vigil = exe
	}
	if *data == "" {
		dir, err := os.MkdirTemp("", prefix)
		if err != nil {
			return cleanup, fmt.Errorf("bench: data directory: %w", err)
		}
		*data = filepath.Join(dir, "data")
		if !keep {
			cleanup = func() { os.RemoveAll(dir) }
		}
	}
	return cleanup, nil
}
