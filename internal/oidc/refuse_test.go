package oidc

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/auth"
)

// setVerifier replaces the PKCE verifier of a pending login.
func (p *pendingLogins) setVerifier(t *testing.T, state, verifier string) {
	t.Helper()
	k := sha256.Sum256([]byte(state))
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.m[k]
	if !ok {
		t.Fatal("no pending login for the state")
	}
	l.verifier = verifier
	p.m[k] = l
}

// startLogin runs the flow up to the provider's redirect back to Vigil and
// returns the callback URL, without calling it.
func (h *hub) startLogin(t *testing.T, c *http.Client, user string) string {
	t.Helper()
	h.idp.signInAs(user)
	prev := c.CheckRedirect
	c.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if r.URL.Path == CallbackPath {
			return http.ErrUseLastResponse
		}
		return prev(r, via)
	}
	defer func() { c.CheckRedirect = prev }()
	a := get(t, c, h.url+LoginPath)
	if a.code != http.StatusFound || !strings.Contains(a.loc, CallbackPath) {
		t.Fatalf("login did not come back to the callback: %d %q %s", a.code, a.loc, a.body)
	}
	q := mustURL(t, a.loc).Query()
	h.secret(q.Get("code"))
	h.secret(q.Get("state"))
	return a.loc
}

func withQuery(t *testing.T, u string, set map[string]string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	for k, v := range set {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	p.RawQuery = q.Encode()
	return p.String()
}

// TestCallbackRefusals: every refused sign-in answers a JSON 4xx, sets no
// session, and logs neither code nor token.
func TestCallbackRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		tamper tamper
		// run performs the sign-in and returns the final answer.
		run  func(t *testing.T, h *hub, c *http.Client) answer
		want int
		// why is what the log must say about the refusal.
		why string
	}{
		{name: "no mapped group", why: "no mapped group", want: http.StatusForbidden,
			run: func(t *testing.T, h *hub, c *http.Client) answer { return h.login(t, c, "bob") }},
		{name: "name of a local user", why: "a local user has this name", want: http.StatusForbidden,
			run: func(t *testing.T, h *hub, c *http.Client) answer { return h.login(t, c, "root") }},
		{name: "tampered state", why: "state cookie missing or different", want: http.StatusBadRequest,
			run: func(t *testing.T, h *hub, c *http.Client) answer {
				cb := h.startLogin(t, c, "alice")
				return get(t, c, withQuery(t, cb, map[string]string{"state": "forged-state"}))
			}},
		{name: "missing state", why: "missing or oversized state", want: http.StatusBadRequest,
			run: func(t *testing.T, h *hub, c *http.Client) answer {
				cb := h.startLogin(t, c, "alice")
				return get(t, c, withQuery(t, cb, map[string]string{"state": ""}))
			}},
		{name: "callback in another browser", why: "state cookie missing or different", want: http.StatusBadRequest,
			run: func(t *testing.T, h *hub, c *http.Client) answer {
				cb := h.startLogin(t, c, "alice")
				return get(t, h.browser(t), cb)
			}},
		{name: "missing code", why: "no code", want: http.StatusBadRequest,
			run: func(t *testing.T, h *hub, c *http.Client) answer {
				cb := h.startLogin(t, c, "alice")
				return get(t, c, withQuery(t, cb, map[string]string{"code": ""}))
			}},
		{name: "provider error", why: "provider error access_denied", want: http.StatusUnauthorized,
			run: func(t *testing.T, h *hub, c *http.Client) answer {
				cb := h.startLogin(t, c, "alice")
				return get(t, c, withQuery(t, cb, map[string]string{"code": "", "error": "access_denied"}))
			}},
		{name: "replayed callback", why: "state not pending", want: http.StatusBadRequest,
			run: func(t *testing.T, h *hub, c *http.Client) answer {
				cb := h.startLogin(t, c, "alice")
				stolen := c.Jar.Cookies(mustURL(t, h.url+Prefix))
				if a := get(t, c, cb); a.code != http.StatusSeeOther {
					t.Fatalf("first callback: %d %s", a.code, a.body)
				}
				// Replay with the original state cookie, in a fresh browser.
				c2 := h.browser(t)
				c2.Jar.SetCookies(mustURL(t, h.url+Prefix), stolen)
				return get(t, c2, cb)
			}},
		{name: "code used twice under a fresh state", why: "invalid_grant", want: http.StatusUnauthorized,
			run: func(t *testing.T, h *hub, c *http.Client) answer {
				cb := h.startLogin(t, c, "alice")
				if a := get(t, c, cb); a.code != http.StatusSeeOther {
					t.Fatalf("first callback: %d %s", a.code, a.body)
				}
				c2 := h.browser(t)
				cb2 := h.startLogin(t, c2, "alice")
				code := mustURL(t, cb).Query().Get("code")
				return get(t, c2, withQuery(t, cb2, map[string]string{"code": code}))
			}},
		{name: "wrong PKCE verifier", why: "invalid_grant", want: http.StatusUnauthorized,
			run: func(t *testing.T, h *hub, c *http.Client) answer {
				cb := h.startLogin(t, c, "alice")
				h.svc.pending.setVerifier(t, mustURL(t, cb).Query().Get("state"), oauth2.GenerateVerifier())
				return get(t, c, cb)
			}},
		{name: "wrong nonce", why: "nonce does not match", tamper: tamper{nonce: "not-the-nonce"}, want: http.StatusUnauthorized,
			run: func(t *testing.T, h *hub, c *http.Client) answer { return h.login(t, c, "alice") }},
		{name: "wrong audience", why: "expected audience", want: http.StatusUnauthorized,
			tamper: tamper{claims: func(c map[string]any) {
				c["aud"], c["azp"], c["client_id"] = "someone-else", "someone-else", "someone-else"
			}},
			run: func(t *testing.T, h *hub, c *http.Client) answer { return h.login(t, c, "alice") }},
		{name: "wrong issuer", why: "issued by a different provider", want: http.StatusUnauthorized,
			tamper: tamper{claims: func(c map[string]any) { c["iss"] = "http://127.0.0.1:1/evil" }},
			run:    func(t *testing.T, h *hub, c *http.Client) answer { return h.login(t, c, "alice") }},
		{name: "no nonce", why: "nonce does not match", want: http.StatusUnauthorized,
			tamper: tamper{claims: func(c map[string]any) { delete(c, "nonce") }},
			run:    func(t *testing.T, h *hub, c *http.Client) answer { return h.login(t, c, "alice") }},
		{name: "expired ID token", why: "expired", tamper: tamper{lifetime: -time.Hour}, want: http.StatusUnauthorized,
			run: func(t *testing.T, h *hub, c *http.Client) answer { return h.login(t, c, "alice") }},
		{name: "unpublished signing key", why: "verify signature", tamper: tamper{rogueKey: true}, want: http.StatusUnauthorized,
			run: func(t *testing.T, h *hub, c *http.Client) answer { return h.login(t, c, "alice") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHub(t)
			h.idp.setTamper(tc.tamper)
			c := h.browser(t)
			a := tc.run(t, h, c)
			if a.code != tc.want {
				t.Fatalf("status %d, want %d: %s", a.code, tc.want, a.body)
			}
			if !strings.HasPrefix(a.body, `{"error":`) {
				t.Fatalf("not a JSON error: %s", a.body)
			}
			if tc.name != "replayed callback" && tc.name != "code used twice under a fresh state" {
				if code, _ := h.me(t, c); code != http.StatusUnauthorized || h.sessionCookie(t, c) != "" {
					t.Fatalf("refused sign-in left a session (me: %d)", code)
				}
			}
			if logs := h.logs.String(); !strings.Contains(logs, "oidc login refused") || !strings.Contains(logs, tc.why) {
				t.Fatalf("refusal not logged with %q:\n%s", tc.why, logs)
			}
			h.noSecretsLogged(t)
			failed := h.auditRecords(t, audit.ActionLoginFailed)
			if len(failed) == 0 || !strings.Contains(string(failed[len(failed)-1].Detail), fmt.Sprintf(`"status":%d`, tc.want)) ||
				!strings.Contains(string(failed[len(failed)-1].Detail), `"via":"oidc"`) {
				t.Fatalf("login_failed not audited: %+v", failed)
			}
			if tc.name == "no mapped group" && failed[len(failed)-1].User != "bob" {
				t.Fatalf("login_failed without the provider's user name: %+v", failed)
			}
		})
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestLocalUserUntouched: a provider user named like a local user neither
// signs in nor changes the local user.
func TestLocalUserUntouched(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	if a := h.login(t, h.browser(t), "root"); a.code != http.StatusForbidden {
		t.Fatalf("status %d: %s", a.code, a.body)
	}
	u, err := h.auth.GetUser(context.Background(), "root")
	if err != nil || u.Role != auth.RoleAdmin || u.PasswordHash == auth.ExternalPasswordHash {
		t.Fatalf("local root changed: %+v %v", u, err)
	}
	if _, _, err := h.auth.Login(context.Background(), "root", "root-password-1", "127.0.0.1"); err != nil {
		t.Fatalf("local root cannot log in any more: %v", err)
	}
}

// TestStateExpires: a login finished after StateTTL is refused.
func TestStateExpires(t *testing.T) {
	t.Parallel()
	h := newHub(t, func(c *Config) { c.StateTTL = time.Minute })
	c := h.browser(t)
	cb := h.startLogin(t, c, "alice")
	later := time.Now().Add(2 * time.Minute)
	h.svc.now = func() time.Time { return later }
	if a := get(t, c, cb); a.code != http.StatusBadRequest {
		t.Fatalf("status %d: %s", a.code, a.body)
	}
}

// TestProviderUnreachable: the hub starts, and a login answers 503 until
// the provider can be discovered.
func TestProviderUnreachable(t *testing.T) {
	t.Parallel()
	h := newHub(t, func(c *Config) { c.Issuer = "http://127.0.0.1:1/nowhere" })
	a := h.login(t, h.browser(t), "alice")
	if a.code != http.StatusServiceUnavailable || !strings.HasPrefix(a.body, `{"error":`) {
		t.Fatalf("status %d: %s", a.code, a.body)
	}
}

// TestRoleChangeAtProvider: the provider's groups are applied again at
// every sign-in.
func TestRoleChangeAtProvider(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	if a := h.login(t, h.browser(t), "alice"); a.code != http.StatusSeeOther {
		t.Fatalf("login: %d %s", a.code, a.body)
	}
	h.idp.storage.groups["u-alice"] = []string{"auditor"}
	c := h.browser(t)
	if a := h.login(t, c, "alice"); a.code != http.StatusSeeOther {
		t.Fatalf("login: %d %s", a.code, a.body)
	}
	if code, m := h.me(t, c); code != http.StatusOK || m.Role != "auditor" || len(m.Sites) != 0 {
		t.Fatalf("me: %d %+v", code, m)
	}
}

// TestResignedTokenAccepted: the rewriting used by the refusal cases keeps
// a token valid when it changes nothing that matters, so those cases fail
// for the reason they name.
func TestResignedTokenAccepted(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	h.idp.setTamper(tamper{claims: func(c map[string]any) { c["extra"] = "x" }})
	c := h.browser(t)
	if a := h.login(t, c, "alice"); a.code != http.StatusSeeOther {
		t.Fatalf("status %d: %s", a.code, a.body)
	}
	if code, m := h.me(t, c); code != http.StatusOK || m.Role != "operator" {
		t.Fatalf("me: %d %+v", code, m)
	}
}
