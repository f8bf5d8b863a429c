package push

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		msg       string
		secret    string
		wantInErr string
	}{
		{"config credentials", Config{URL: "rtsps://hub:8554/cam", User: "gate-1", Pass: "p@ss word/1"},
			"dial rtsps://gate-1:p%40ss%20word%2F1@hub:8554/cam: p@ss word/1 refused", "p@ss", "rtsps://xxxxx@hub:8554/cam"},
		{"url credentials", Config{URL: "rtsp://gw:hunter22@hub/cam"}, "rtsp://gw:hunter22@hub/cam: hunter22", "hunter22", "xxxxx@hub/cam"},
		{"short password left alone", Config{URL: "rtsp://hub/cam", User: "gw", Pass: "ab"}, "table abc", "", "table abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := target(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			p := &pusher{u: u}
			base := errors.New(tt.msg)
			err = p.redact(fmt.Errorf("op: %w", base))
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Fatalf("secret in %q", err)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Fatalf("%q does not contain %q", err, tt.wantInErr)
			}
			if !errors.Is(err, base) {
				t.Fatal("redaction lost the wrapped error")
			}
		})
	}
}
