package gateways

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/index/sqlite"
	"github.com/vigil-video/vigil/internal/keys"
	"github.com/vigil-video/vigil/internal/testutil"
)

const testCertSHA = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a registry and a real API over one real SQLite database.
type env struct {
	reg    *Registry
	api    http.Handler
	enroll *httptest.Server
	idx    *sqlite.Store
	clock  *clock
	logs   *testutil.LogBuffer
	audit  *audit.Log
}

// startAudit runs a real audit trail on idx's database until the test ends.
func startAudit(t testing.TB, idx *sqlite.Store, log *slog.Logger) *audit.Log {
	t.Helper()
	k, err := keys.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(idx.DB(), k, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("audit run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("audit log did not stop")
		}
	})
	return l
}

// Users: name -> password; see newEnv for roles and sites.
var passwords = map[string]string{
	"root": "root-password-1", "op": "op-password-1", "opall": "opall-password-1",
	"view": "view-password-1", "aud": "aud-password-1",
}

func newEnv(t testing.TB, cfg Config) *env { return newEnvAudit(t, cfg, false) }

// newEnvAudit is newEnv with, when withAudit, a real audit trail (e.audit)
// in the same database, running until the test ends.
func newEnvAudit(t testing.TB, cfg Config, withAudit bool) *env {
	t.Helper()
	ctx := testutil.Context(t, 30*time.Second)
	idx, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idx.Close() })
	e := &env{idx: idx, clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, logs: &testutil.LogBuffer{}}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	deps := Deps{DB: idx.DB(), Sites: idx, Logger: log, Now: e.clock.Now,
		HubCertSHA256: func() string { return testCertSHA }}
	if withAudit {
		e.audit = startAudit(t, idx, log)
		deps.Audit = e.audit
	}
	e.reg, err = New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	store, err := auth.NewSQLStore(idx.DB())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.New(auth.Config{Hash: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}},
		auth.Deps{Store: store, Logger: log, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	a, err := api.New(api.Config{}, api.Deps{Index: idx, Auth: svc, Runtime: api.NopRuntime{},
		Logger: log, Now: e.clock.Now, Routes: e.reg.Routes()})
	if err != nil {
		t.Fatal(err)
	}
	e.api = a.Handler()
	e.enroll = httptest.NewServer(e.reg.Enroll())
	t.Cleanup(e.enroll.Close)
	for _, s := range []string{"north", "south"} {
		if _, err := idx.CreateSite(ctx, index.Site{ID: s, Name: s}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []auth.NewUser{
		{Username: "root", Role: auth.RoleAdmin},
		{Username: "op", Role: auth.RoleOperator, Sites: []string{"north"}},
		{Username: "opall", Role: auth.RoleOperator},
		{Username: "view", Role: auth.RoleViewer, Sites: []string{"north"}},
		{Username: "aud", Role: auth.RoleAuditor},
	} {
		u.Password = passwords[u.Username]
		if _, err := svc.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// answer is a recorded HTTP answer.
type answer struct {
	code   int
	header http.Header
	body   []byte
}

func (a answer) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %q: %v", a.body, err)
	}
}

// errCode checks that the answer is a JSON error and returns its code.
func (a answer) errCode(t *testing.T) string {
	t.Helper()
	var b struct{ Error, Code string }
	a.decode(t, &b)
	if b.Error == "" || b.Code == "" {
		t.Fatalf("not a JSON error: %s", a.body)
	}
	return b.Code
}

func body(v any) io.Reader {
	switch b := v.(type) {
	case nil:
		return nil
	case string:
		return strings.NewReader(b)
	}
	js, _ := json.Marshal(v)
	return bytes.NewReader(js)
}

// do sends a request through the API as user ("" : no credentials).
func (e *env) do(t testing.TB, method, path, user string, v any) answer {
	t.Helper()
	req := httptest.NewRequest(method, path, body(v))
	if v != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.SetBasicAuth(user, passwords[user])
	}
	rec := httptest.NewRecorder()
	e.api.ServeHTTP(rec, req)
	return answer{code: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// postEnroll calls the Enroll handler over a real loopback connection.
func (e *env) postEnroll(t *testing.T, v any) answer {
	t.Helper()
	ctx := testutil.Context(t, 10*time.Second)
	req, err := http.NewRequestWithContext(ctx, "POST", e.enroll.URL+EnrollPath, body(v))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := e.enroll.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{code: res.StatusCode, header: res.Header, body: b}
}

type created struct {
	ID, Site, Token string
}

// create makes a gateway as root and returns its token.
func (e *env) create(t testing.TB, id, site string) string {
	t.Helper()
	a := e.do(t, "POST", "/api/v1/gateways", "root", map[string]string{"id": id, "site": site})
	if a.code != http.StatusCreated {
		t.Fatalf("create %s: %d %s", id, a.code, a.body)
	}
	var c created
	a.decode(t, &c)
	if c.ID != id || c.Site != site || !strings.HasPrefix(c.Token, tokenPrefix) {
		t.Fatalf("create answer %s", a.body)
	}
	return c.Token
}

type enrolled struct {
	Gateway, Site, Credential string
	HubCertSHA256             string `json:"hub_cert_sha256"`
}

// enrollOK enrolls with token and returns the answer.
func (e *env) enrollOK(t *testing.T, token string) enrolled {
	t.Helper()
	a := e.postEnroll(t, map[string]string{"token": token})
	if a.code != http.StatusOK {
		t.Fatalf("enroll: %d %s", a.code, a.body)
	}
	var en enrolled
	a.decode(t, &en)
	return en
}

func (e *env) authenticate(t *testing.T, cred string) (string, string, bool) {
	t.Helper()
	return e.reg.AuthenticateGateway(context.Background(), cred)
}
