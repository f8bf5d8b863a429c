package e2e

import (
	"bufio"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startSim runs `vigil sim` serving n cameras looping the built-in clip
// (10 fps) and returns their URLs.
func startSim(t *testing.T, n int) []string {
	t.Helper()
	cmd := exec.Command(vigilBin, "sim", "--cameras", itoa(n), "--rtsp", "127.0.0.1:0")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	urls := make(chan string, n)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "rtsp://") {
				urls <- sc.Text()
			}
		}
	}()
	var got []string
	for len(got) < n {
		select {
		case u := <-urls:
			got = append(got, u)
		case <-time.After(15 * time.Second):
			t.Fatalf("simulator printed %d of %d URLs", len(got), n)
		}
	}
	return got
}

func itoa(n int) string { return strconv.Itoa(n) }
