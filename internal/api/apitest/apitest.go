// Package apitest runs a real API (SQLite index, auth with fast password
// hashing, httptest server on 127.0.0.1) for the tests of packages that
// add routes to it: live view, playback, keys, gateways...
package apitest

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/index/sqlite"
)

// Options say what the API holds. Zero values take the defaults.
type Options struct {
	// Index is the index to serve; a new one in a temporary directory
	// when nil.
	Index *sqlite.Store
	// Sites and Cameras are created first, then Users.
	Sites   []index.Site
	Cameras []index.Camera
	Users   []auth.NewUser
	// Routes are the extra routes under test.
	Routes []api.Route
	// Audit is the API's audit trail (none when nil).
	Audit api.Auditor
}

// Env is a running API.
type Env struct {
	Index  *sqlite.Store
	Auth   *auth.Service
	API    *api.API
	Server *httptest.Server
}

// New builds and serves the API; everything is closed when the test ends.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	ctx := context.Background()
	e := &Env{Index: opts.Index}
	if e.Index == nil {
		idx, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "index.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = idx.Close() })
		e.Index = idx
	}
	store, err := auth.NewSQLStore(e.Index.DB())
	if err != nil {
		t.Fatal(err)
	}
	// fast hashing: tests make many logins
	e.Auth, err = auth.New(auth.Config{Hash: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}}, auth.Deps{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range opts.Sites {
		if _, err := e.Index.CreateSite(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range opts.Cameras {
		if _, err := e.Index.CreateCamera(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range opts.Users {
		if _, err := e.Auth.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	deps := api.Deps{Index: e.Index, Auth: e.Auth, Runtime: api.NopRuntime{}, Routes: opts.Routes}
	if opts.Audit != nil {
		deps.Audit = opts.Audit
	}
	e.API, err = api.New(api.Config{}, deps)
	if err != nil {
		t.Fatal(err)
	}
	e.Server = httptest.NewServer(e.API.Handler())
	t.Cleanup(e.Server.Close)
	return e
}
