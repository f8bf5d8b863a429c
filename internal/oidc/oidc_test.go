package oidc

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index/sqlite"
	"github.com/vigil-video/vigil/internal/testutil"
)

const (
	clientID     = "vigil"
	clientSecret = "vigil-client-secret"
	// publicClientID is a client without secret at the test provider.
	publicClientID = "vigil-public"
)

// hub is a Vigil API plus the OIDC service on one loopback server, like
// internal/app mounts them, with a test provider.
type hub struct {
	url   string
	svc   *Service
	auth  *auth.Service
	audit *audit.Log
	idp   *idp
	logs  *testutil.LogBuffer
	// secrets must never be logged: client secret, codes, states,
	// session tokens seen by the test.
	secretsMu sync.Mutex
	secrets   map[string]bool
}

func (h *hub) secret(s string) {
	if s == "" {
		return
	}
	h.secretsMu.Lock()
	defer h.secretsMu.Unlock()
	h.secrets[s] = true
}

// startAudit runs a real audit trail on the index database until the
// test ends.
func startAudit(t *testing.T, db *sql.DB, log *slog.Logger) *audit.Log {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(db, audit.KeySigner{Key: priv}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("audit run: %v", err)
		}
	})
	return l
}

// auditRecords returns the audit records of one action, oldest first.
func (h *hub) auditRecords(t *testing.T, action string) []audit.Record {
	t.Helper()
	ctx := testutil.Context(t, 10*time.Second)
	if err := h.audit.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := h.audit.List(ctx, audit.Filter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(p.Records)
	return p.Records
}

var testUsers = []idpUser{
	{id: "u-alice", username: "alice", groups: []string{"ops", "unrelated"}},
	{id: "u-bob", username: "bob", groups: []string{"contractors"}},
	{id: "u-root", username: "root", groups: []string{"ops"}},
}

func newHub(t *testing.T, mutate ...func(*Config)) *hub {
	t.Helper()
	ctx := context.Background()
	idx, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idx.Close() })
	store, err := auth.NewSQLStore(idx.DB())
	if err != nil {
		t.Fatal(err)
	}
	h := &hub{logs: &testutil.LogBuffer{}, secrets: map[string]bool{clientSecret: true}}
	log := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.auth, err = auth.New(auth.Config{Hash: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}},
		auth.Deps{Store: store, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.auth.CreateUser(ctx, auth.NewUser{Username: "root", Password: "root-password-1", Role: auth.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	h.audit = startAudit(t, idx.DB(), log)
	a, err := api.New(api.Config{}, api.Deps{Index: idx, Auth: h.auth, Runtime: api.NopRuntime{}, Logger: log, Audit: h.audit})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h.url = srv.URL
	h.idp = startIDP(t, clientID, clientSecret, srv.URL+CallbackPath, testUsers...)
	cfg := Config{
		Issuer: h.idp.url, ClientID: clientID, ClientSecret: clientSecret, RedirectURL: srv.URL + CallbackPath,
		Groups: map[string]GroupRole{
			"ops":     {Role: auth.RoleOperator, Sites: []string{"north-7"}},
			"auditor": {Role: auth.RoleAuditor},
		},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	h.svc, err = New(cfg, Deps{Auth: h.auth, Audit: h.audit, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(Prefix, h.svc.Handler())
	mux.Handle("/", a.Handler())
	return h
}

// browser is an HTTP client that keeps cookies and follows redirects,
// except Vigil's final one to "/" (which it returns).
func (h *hub) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if len(via) > 10 {
				return http.ErrUseLastResponse
			}
			if strings.HasPrefix(r.URL.String(), h.url) && !strings.HasPrefix(r.URL.Path, Prefix) {
				return http.ErrUseLastResponse
			}
			return nil
		}}
}

type answer struct {
	code    int
	loc     string
	body    string
	cookies []*http.Cookie
}

func get(t *testing.T, c *http.Client, u string) answer {
	t.Helper()
	ctx := testutil.Context(t, 10*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{code: res.StatusCode, loc: res.Header.Get("Location"), body: string(b), cookies: res.Cookies()}
}

// sessionCookie returns the browser's Vigil session cookie, "" if none.
func (h *hub) sessionCookie(t *testing.T, c *http.Client) string {
	t.Helper()
	u, _ := url.Parse(h.url + "/")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == api.SessionCookie {
			return ck.Value
		}
	}
	return ""
}

type me struct {
	Username string   `json:"username"`
	Role     string   `json:"role"`
	Sites    []string `json:"sites"`
}

func (h *hub) me(t *testing.T, c *http.Client) (int, me) {
	t.Helper()
	a := get(t, c, h.url+"/api/v1/me")
	var m me
	if a.code == http.StatusOK {
		if err := json.Unmarshal([]byte(a.body), &m); err != nil {
			t.Fatal(err)
		}
	}
	return a.code, m
}

// login runs the whole browser flow as user and returns the final answer.
func (h *hub) login(t *testing.T, c *http.Client, user string) answer {
	t.Helper()
	h.idp.signInAs(user)
	return get(t, c, h.url+LoginPath)
}

func TestLoginMapsGroupToOperatorOfSite(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	c := h.browser(t)
	a := h.login(t, c, "alice")
	if a.code != http.StatusSeeOther || a.loc != "/" {
		t.Fatalf("login ended with %d %q: %s", a.code, a.loc, a.body)
	}
	if h.sessionCookie(t, c) == "" {
		t.Fatal("no session cookie")
	}
	h.secret(h.sessionCookie(t, c))
	checkCookies(t, a.cookies, false)
	code, m := h.me(t, c)
	if code != http.StatusOK || m.Username != "alice" || m.Role != "operator" ||
		len(m.Sites) != 1 || m.Sites[0] != "north-7" {
		t.Fatalf("me: %d %+v", code, m)
	}
	// The user exists without a usable password.
	u, err := h.auth.GetUser(context.Background(), "alice")
	if err != nil || u.PasswordHash != auth.ExternalPasswordHash {
		t.Fatalf("user: %+v %v", u, err)
	}
	for _, pw := range []string{"", auth.ExternalPasswordHash, "pw-u-alice"} {
		if _, _, err := h.auth.Login(context.Background(), "alice", pw, "127.0.0.1"); err == nil {
			t.Fatalf("password login of an external user with %q succeeded", pw)
		}
	}
	// A second sign-in reuses the user; the state is consumed each time.
	if a := h.login(t, h.browser(t), "alice"); a.code != http.StatusSeeOther {
		t.Fatalf("second login: %d %s", a.code, a.body)
	}
	recs := h.auditRecords(t, audit.ActionLogin)
	if len(recs) != 2 || recs[0].User != "alice" || recs[0].Role != "operator" ||
		string(recs[0].Detail) != `{"via":"oidc"}` || recs[0].Remote != "127.0.0.1" {
		t.Fatalf("audit: %+v", recs)
	}
	if n := h.svc.pending.len(); n != 0 {
		t.Fatalf("%d logins still pending", n)
	}
	h.noSecretsLogged(t)
}

// noSecretsLogged checks that no session token, code or state reached the log.
func (h *hub) noSecretsLogged(t *testing.T) {
	t.Helper()
	logs := h.logs.String()
	bad := []string{"code=", "id_token", "eyJ"}
	h.secretsMu.Lock()
	for s := range h.secrets {
		bad = append(bad, s)
	}
	h.secretsMu.Unlock()
	for _, b := range bad {
		if strings.Contains(logs, b) {
			t.Fatalf("log contains %q:\n%s", b, logs)
		}
	}
}

// checkCookies checks the attributes of the callback's cookies: the
// session cookie as the API sets it, the state cookie cleared.
func checkCookies(t *testing.T, cs []*http.Cookie, secure bool) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range cs {
		seen[c.Name] = true
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure {
			t.Errorf("cookie %s: HttpOnly %v SameSite %v Secure %v", c.Name, c.HttpOnly, c.SameSite, c.Secure)
		}
		switch c.Name {
		case api.SessionCookie:
			if c.Path != "/" || c.MaxAge <= 0 || c.Value == "" {
				t.Errorf("session cookie: %+v", c)
			}
		case StateCookie:
			if c.Path != Prefix || c.MaxAge >= 0 {
				t.Errorf("state cookie not cleared: %+v", c)
			}
		}
	}
	if !seen[api.SessionCookie] || !seen[StateCookie] {
		t.Errorf("cookies set: %v", seen)
	}
}

// TestStateCookieSecureUnderTLS: the login's state cookie is Secure on a
// TLS request and with SecureCookies, and the redirect carries PKCE S256,
// state and nonce.
func TestStateCookieSecureUnderTLS(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	for _, tlsReq := range []bool{false, true} {
		req := httptest.NewRequestWithContext(testutil.Context(t, 10*time.Second), http.MethodGet, LoginPath, nil)
		if tlsReq {
			req.TLS = &tls.ConnectionState{}
		}
		rec := httptest.NewRecorder()
		h.svc.Handler().ServeHTTP(rec, req)
		res := rec.Result()
		if res.StatusCode != http.StatusFound {
			t.Fatalf("status %d", res.StatusCode)
		}
		cs := res.Cookies()
		if len(cs) != 1 || cs[0].Name != StateCookie || cs[0].Secure != tlsReq || !cs[0].HttpOnly ||
			cs[0].SameSite != http.SameSiteLaxMode || cs[0].Path != Prefix {
			t.Fatalf("TLS %v: cookies %+v", tlsReq, cs)
		}
		u := mustURL(t, res.Header.Get("Location"))
		q := u.Query()
		if !strings.HasPrefix(u.String(), h.idp.url) || q.Get("state") != cs[0].Value || q.Get("nonce") == "" ||
			q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 ||
			q.Get("client_id") != clientID || q.Get("response_type") != "code" ||
			q.Get("scope") != "openid profile email groups" {
			t.Fatalf("authorization URL %s", u)
		}
	}
}

func TestUnknownPath(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	c := h.browser(t)
	for _, p := range []string{Prefix + "nope", LoginPath + "/x"} {
		if a := get(t, c, h.url+p); a.code != http.StatusNotFound || !strings.HasPrefix(a.body, `{"error":`) {
			t.Errorf("%s: %d %s", p, a.code, a.body)
		}
	}
}

// TestPublicClient: without a client secret, PKCE alone authenticates the
// code exchange (the provider's client is a native one).
func TestPublicClient(t *testing.T) {
	t.Parallel()
	h := newHub(t, func(c *Config) { c.ClientID, c.ClientSecret = publicClientID, "" })
	c := h.browser(t)
	if a := h.login(t, c, "alice"); a.code != http.StatusSeeOther {
		t.Fatalf("status %d: %s", a.code, a.body)
	}
	if code, m := h.me(t, c); code != http.StatusOK || m.Username != "alice" || m.Role != "operator" {
		t.Fatalf("me: %d %+v", code, m)
	}
	h.noSecretsLogged(t)
}
