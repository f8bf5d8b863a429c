package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestHoldOff(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		retryAfter string
		err        error // when status is 0
		wantHold   time.Duration
	}{
		{name: "429 with Retry-After", status: 429, retryAfter: "7", wantHold: 7 * time.Second},
		{name: "429 without Retry-After", status: 429, wantHold: 30 * time.Second},
		{name: "429 asking too much", status: 429, retryAfter: "86400", wantHold: maxHold},
		{name: "503", status: 503},
		{name: "refused credential", err: fmt.Errorf("upload a: %w", ErrCredentialRefused), wantHold: 3 * time.Second},
		{name: "network error", err: errors.New("connection refused")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := New(Config{DataDir: t.TempDir(), RevokedRetry: 3 * time.Second}, nil)
			if err != nil {
				t.Fatal(err)
			}
			e := tc.err
			if tc.status != 0 {
				resp := &http.Response{StatusCode: tc.status, Header: http.Header{}}
				if tc.retryAfter != "" {
					resp.Header.Set("Retry-After", tc.retryAfter)
				}
				e = retryAfter(resp)
				if (e != nil) != (tc.status == 429) {
					t.Fatalf("retryAfter: %v", e)
				}
			}
			g.holdOff(e)
			if got := g.held(); got > tc.wantHold || got < tc.wantHold-time.Second {
				t.Fatalf("held %v, want about %v", got, tc.wantHold)
			}
		})
	}
}
