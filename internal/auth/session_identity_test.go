package auth

import (
	"context"
	"strings"
	"testing"
)

// Principal.Session identifies the session or token a request came with
// (for media links): the same for every request of one session, different
// between sessions, never the secret itself, and empty for HTTP Basic.
func TestPrincipalSessionIdentity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.addUser(t, "ann", "ann-password-1", RoleOperator, "north")
	p1, s1, err := f.svc.Login(ctx, "ann", "ann-password-1", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	p2, s2, err := f.svc.Login(ctx, "ann", "ann-password-1", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	a1, err := f.svc.AuthenticateSession(ctx, s1.Token)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := f.svc.AuthenticateSession(ctx, s2.Token)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.svc.CreateToken(ctx, "ann", "script", 0)
	if err != nil {
		t.Fatal(err)
	}
	at, err := f.svc.AuthenticateToken(ctx, tok.Secret)
	if err != nil {
		t.Fatal(err)
	}
	ab, err := f.svc.AuthenticateBasic(ctx, "ann", "ann-password-1", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case p1.Session == "" || p1.Session != a1.Session:
		t.Fatalf("login and its requests differ: %q %q", p1.Session, a1.Session)
	case p2.Session != a2.Session || a1.Session == a2.Session:
		t.Fatalf("two sessions: %q %q", a1.Session, a2.Session)
	case at.Session == "" || at.Session == a1.Session:
		t.Fatalf("token session %q", at.Session)
	case ab.Session != "":
		t.Fatalf("basic has a session: %q", ab.Session)
	}
	for _, p := range []Principal{a1, a2, at} {
		if strings.Contains(p.Session, s1.Token) || strings.Contains(p.Session, s2.Token) || strings.Contains(p.Session, tok.Secret) {
			t.Fatalf("session identity holds a secret: %q", p.Session)
		}
	}
	if err := f.svc.Logout(ctx, s1.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AuthenticateSession(ctx, s1.Token); err == nil {
		t.Fatal("logged-out session still authenticates")
	}
}
