package hubproc

import (
	"context"
	"os"
	"testing"
	"time"
)

// A stand-in "hub": a shell that prints the ready line, then waits.
func TestStartParsesReadyLine(t *testing.T) {
	cases := []struct{ http, rtsp, scheme string }{
		{"http://127.0.0.1:1", "rtsp://127.0.0.1:2", "rtsp"},
		{"https://[::1]:1", "rtsps://10.0.0.1:2", "rtsps"},
	}
	for _, c := range cases {
		t.Run(c.scheme, func(t *testing.T) {
			script := "echo starting; echo '" + ReadyLine(c.http, c.rtsp, "/d") + "'; exec sleep 30"
			p, err := Start(context.Background(), "/bin/sh", []string{"-c", script}, os.Environ(), os.Stderr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if p.HTTP != c.http || p.RTSPScheme+"://"+p.RTSP != c.rtsp {
				t.Fatalf("http %q rtsp %q %q", p.HTTP, p.RTSPScheme, p.RTSP)
			}
			if err := p.Stop(5 * time.Second); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestStartFailures(t *testing.T) {
	if _, err := Start(context.Background(), "/bin/sh", []string{"-c", "exit 3"}, nil, nil, 5*time.Second); err == nil {
		t.Error("a process that exits is ready")
	}
	if _, err := Start(context.Background(), "/bin/sh", []string{"-c", "exec sleep 30"}, nil, nil, 100*time.Millisecond); err == nil {
		t.Error("a silent process is ready")
	}
}
