package gateway

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/testutil"
)

func TestEnroll(t *testing.T) {
	wrongPin := strings.Repeat("ab", 32)
	cases := []struct {
		name      string
		token     func(h *fakeHub) string
		hub       func(h *fakeHub) string
		answerPin string
		wantErr   error
		wantSent  bool // the hub saw the enrolment request
	}{
		{name: "right pin", token: (*fakeHub).pinnedToken, wantSent: true},
		{name: "wrong pin", token: func(h *fakeHub) string { return h.token + "~" + wrongPin }, wantErr: ErrPinMismatch},
		{name: "trust on first use", token: func(h *fakeHub) string { return h.token }, wantSent: true},
		{name: "answer names another certificate", token: func(h *fakeHub) string { return h.token },
			answerPin: wrongPin, wantErr: ErrPinMismatch, wantSent: true},
		{name: "pinned answer names another certificate", token: (*fakeHub).pinnedToken,
			answerPin: wrongPin, wantErr: ErrPinMismatch, wantSent: true},
		{name: "refused token", token: func(h *fakeHub) string { return "vge_other~" + h.pin }, wantErr: ErrTokenRefused, wantSent: true},
		{name: "bad pin in token", token: func(h *fakeHub) string { return h.token + "~zz" }, wantErr: ErrBadSetup},
		{name: "credentials in the hub URL", token: (*fakeHub).pinnedToken,
			hub: func(h *fakeHub) string { return "https://u:p@" + h.srv.Listener.Addr().String() }, wantErr: ErrBadSetup},
		{name: "plain http off loopback", token: (*fakeHub).pinnedToken,
			hub: func(*fakeHub) string { return "http://192.0.2.1:8080" }, wantErr: ErrBadSetup},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeHub(t)
			h.answerPin = tc.answerPin
			hub := h.srv.URL
			if tc.hub != nil {
				hub = tc.hub(h)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var logs testutil.LogBuffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			token := tc.token(h)
			id, err := Enroll(ctx, hub, token, log)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Enroll: err %v, want %v", err, tc.wantErr)
			}
			if sent := h.enrolls.Load() > 0; sent != tc.wantSent {
				t.Fatalf("hub saw the enrolment: %v, want %v", sent, tc.wantSent)
			}
			if !tc.wantSent && h.requests.Load() != 0 {
				t.Fatalf("hub saw %d requests, want none", h.requests.Load())
			}
			if tc.wantErr == nil && (id.Credential != h.cred || id.HubCertSHA256 != h.pin || id.Gateway != "gw1") {
				t.Fatalf("identity %+v", id)
			}
			for _, secret := range []string{token, h.cred, "testtoken"} {
				if strings.Contains(logs.String(), secret) || (err != nil && strings.Contains(err.Error(), secret)) {
					t.Fatalf("a secret leaked into the log or error: %s / %v", logs.String(), err)
				}
			}
		})
	}
}

func TestIdentityStoredAndReused(t *testing.T) {
	h := newFakeHub(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	id, err := EnsureIdentity(ctx, h.srv.URL, h.pinnedToken(), dir, log)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, IdentityFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity mode %v, want 0600", fi.Mode().Perm())
	}
	// A restart: the stored credential is used, the (now used) token is not sent.
	id2, err := EnsureIdentity(ctx, h.srv.URL, h.pinnedToken(), dir, log)
	if err != nil {
		t.Fatal(err)
	}
	if id2 != id || h.enrolls.Load() != 1 {
		t.Fatalf("second start: %+v (enrolments %d), want %+v and 1", id2, h.enrolls.Load(), id)
	}
	// The stored identity talks to the hub with its pin.
	cfg, err := NewClient(id2).Config(ctx)
	if err != nil || cfg.Gateway != "gw1" {
		t.Fatalf("Config: %+v %v", cfg, err)
	}
	// A moved hub (same certificate) is reached at the given URL.
	moved, err := EnsureIdentity(ctx, "https://127.0.0.1:1/", "", dir, log)
	if err != nil || moved.Hub != "https://127.0.0.1:1" || moved.Credential != id.Credential {
		t.Fatalf("moved hub: %+v %v", moved, err)
	}
	// Without an identity and without a token there is nothing to do.
	if _, err := EnsureIdentity(ctx, h.srv.URL, "", t.TempDir(), log); !errors.Is(err, ErrBadSetup) {
		t.Fatalf("no token: %v", err)
	}
}

func TestClientPinsStoredHash(t *testing.T) {
	h := newFakeHub(t)
	other := newFakeHub(t) // another hub (another certificate) at the stored address
	id := Identity{Hub: other.srv.URL, Gateway: "gw1", Credential: h.cred, HubCertSHA256: h.pin}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := NewClient(id).Config(ctx); !errors.Is(err, ErrPinMismatch) {
		t.Fatalf("Config against another certificate: %v, want ErrPinMismatch", err)
	}
	if other.requests.Load() != 0 {
		t.Fatal("the credential reached a hub with another certificate")
	}
	h.revoked.Store(true)
	id.Hub = h.srv.URL
	if _, err := NewClient(id).Config(ctx); !errors.Is(err, ErrCredentialRefused) {
		t.Fatalf("revoked: %v, want ErrCredentialRefused", err)
	}
}
