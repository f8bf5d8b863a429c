package api

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
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/index/sqlite"

	"github.com/vigil-video/vigil/internal/testutil"
)

// Test users: name -> password; roles and scopes are set in newEnv.
const (
	pwRoot  = "root-password-1"
	pwOp    = "op-password-1"
	pwOpAll = "opall-password-1"
	pwView  = "view-password-1"
	pwAud   = "aud-password-1"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer = testutil.LogBuffer

// fakeRuntime records what the API tells it.
type fakeRuntime struct {
	mu      sync.Mutex
	changed []index.Camera
	removed []string
	status  map[string]CameraStatus
	panics  atomic.Bool
}

func (f *fakeRuntime) CameraStatus(id string) CameraStatus {
	if f.panics.Load() {
		panic("runtime exploded")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.status[id]; ok {
		return s
	}
	return CameraStatus{State: StateOffline}
}

func (f *fakeRuntime) CameraChanged(_ context.Context, c index.Camera) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changed = append(f.changed, c)
}

func (f *fakeRuntime) CameraRemoved(_ context.Context, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, id)
}

func (f *fakeRuntime) setStatus(id string, s CameraStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status == nil {
		f.status = map[string]CameraStatus{}
	}
	f.status[id] = s
}

func (f *fakeRuntime) lastChanged() index.Camera {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.changed) == 0 {
		return index.Camera{}
	}
	return f.changed[len(f.changed)-1]
}

// env is one API over a real SQLite index and auth store.
type env struct {
	api   *API
	idx   *sqlite.Store
	auth  *auth.Service
	rt    *fakeRuntime
	reg   *prometheus.Registry
	logs  *syncBuffer
	ready atomic.Bool
	now   time.Time
}

// testNow is the API clock in tests.
func testNow() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }

type envOpt func(*Deps)

func newEnv(t *testing.T, opts ...envOpt) *env {
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
	e := &env{idx: idx, rt: &fakeRuntime{}, reg: prometheus.NewRegistry(), logs: &syncBuffer{}, now: testNow()}
	e.ready.Store(true)
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.auth, err = auth.New(auth.Config{Hash: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}},
		auth.Deps{Store: store, Logger: log, Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	deps := Deps{Index: idx, Auth: e.auth, Runtime: e.rt, Registry: e.reg, Logger: log,
		Ready: e.ready.Load, Now: func() time.Time { return e.now }}
	for _, o := range opts {
		o(&deps)
	}
	if e.api, err = New(Config{}, deps); err != nil {
		t.Fatal(err)
	}
	e.seed(t)
	return e
}

// seed creates sites north and south and one user per role.
func (e *env) seed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, s := range []string{"north", "south"} {
		if _, err := e.idx.CreateSite(ctx, index.Site{ID: s, Name: s}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []auth.NewUser{
		{Username: "root", Password: pwRoot, Role: auth.RoleAdmin},
		{Username: "op", Password: pwOp, Role: auth.RoleOperator, Sites: []string{"north"}},
		{Username: "opall", Password: pwOpAll, Role: auth.RoleOperator},
		{Username: "view", Password: pwView, Role: auth.RoleViewer, Sites: []string{"north"}},
		{Username: "aud", Password: pwAud, Role: auth.RoleAuditor},
	} {
		if _, err := e.auth.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
}

// cred authenticates a test request.
type cred func(r *http.Request)

func basic(user, pw string) cred { return func(r *http.Request) { r.SetBasicAuth(user, pw) } }
func bearer(tok string) cred {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}
func cookie(v string) cred {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: SessionCookie, Value: v}) }
}
func noCred(*http.Request) {}

func asRoot() cred  { return basic("root", pwRoot) }
func asOp() cred    { return basic("op", pwOp) }
func asOpAll() cred { return basic("opall", pwOpAll) }
func asView() cred  { return basic("view", pwView) }
func asAud() cred   { return basic("aud", pwAud) }

// resp is a recorded answer.
type resp struct {
	code   int
	header http.Header
	body   []byte
	res    *http.Response
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r resp) errCode(t *testing.T) string {
	t.Helper()
	var eb errorBody
	r.json(t, &eb)
	if eb.Error == "" {
		t.Fatalf("error body without message: %s", r.body)
	}
	return eb.Code
}

// do sends a request through the API handler. body may be nil, a string
// (sent as is) or a value (encoded as JSON).
func (e *env) do(t *testing.T, method, path string, body any, c cred, hdr ...string) resp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c(req)
	rec := httptest.NewRecorder()
	e.api.Handler().ServeHTTP(rec, req)
	res := rec.Result()
	return resp{code: rec.Code, header: rec.Header(), body: rec.Body.Bytes(), res: res}
}

// must asserts the status code.
func (r resp) must(t *testing.T, code int) resp {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %s", r.code, code, r.body)
	}
	return r
}

func (e *env) addCamera(t *testing.T, id, site, source string) {
	t.Helper()
	body := map[string]any{"id": id, "site": site}
	if source != "" {
		body["source"] = source
	}
	e.do(t, "POST", "/api/v1/cameras", body, asRoot()).must(t, http.StatusCreated)
}
