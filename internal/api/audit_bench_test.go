package api

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/index/sqlite"
	"github.com/vigil-video/vigil/internal/testutil"
)

// benchAPI is an API over a real SQLite index with one operator (a
// bearer token) and one camera, with or without an audit log.
func benchAPI(b *testing.B, withAudit bool) (*API, string) {
	b.Helper()
	ctx := testutil.Context(b, 5*time.Minute)
	idx, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "vigil.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = idx.Close() })
	store, err := auth.NewSQLStore(idx.DB())
	if err != nil {
		b.Fatal(err)
	}
	as, err := auth.New(auth.Config{Hash: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}}, auth.Deps{Store: store})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := idx.CreateSite(ctx, index.Site{ID: "north", Name: "north"}); err != nil {
		b.Fatal(err)
	}
	if _, err := idx.CreateCamera(ctx, index.Camera{ID: "gate", Name: "gate", Site: "north"}); err != nil {
		b.Fatal(err)
	}
	if _, err := as.CreateUser(ctx, auth.NewUser{Username: "op", Password: pwOp, Role: auth.RoleOperator, Sites: []string{"north"}}); err != nil {
		b.Fatal(err)
	}
	tok, err := as.CreateToken(ctx, "op", "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	deps := Deps{Index: idx, Auth: as, Runtime: NopRuntime{}, Routes: fakeMediaRoutes()}
	if withAudit {
		_, priv, _ := ed25519.GenerateKey(nil)
		lg, err := audit.New(idx.DB(), audit.KeySigner{Key: priv}, nil)
		if err != nil {
			b.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- lg.Run(runCtx) }()
		b.Cleanup(func() { cancel(); <-done })
		deps.Audit = lg
	}
	a, err := New(Config{}, deps)
	if err != nil {
		b.Fatal(err)
	}
	return a, tok.Secret
}

// BenchmarkAuditedRoute is API requests per second on audited routes
// with and without the audit log: a recorded playlist (an extra route
// with Route.Audit: one record per request), a recordings search (a
// built-in route: one record per request) and live playlist reloads
// (AuditLive: one record per viewer, then a presence update).
func BenchmarkAuditedRoute(b *testing.B) {
	paths := []struct{ name, path string }{
		{"playback", "/api/v1/cameras/gate/playback.m3u8?reason=bench"},
		{"recordings", "/api/v1/cameras/gate/recordings"},
		{"live-reload", "/api/v1/cameras/gate/live.m3u8"},
	}
	for _, p := range paths {
		path := p.path
		for _, withAudit := range []bool{false, true} {
			name := p.name
			if withAudit {
				name += "/audit"
			} else {
				name += "/no-audit"
			}
			b.Run(name, func(b *testing.B) {
				a, tok := benchAPI(b, withAudit)
				h := a.Handler()
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						req := httptest.NewRequest("GET", path, nil)
						req.Header.Set("Authorization", "Bearer "+tok)
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK {
							b.Errorf("status %d: %s", rec.Code, rec.Body)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			})
		}
	}
}
