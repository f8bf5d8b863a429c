package gateways

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/testutil"
)

// TestLifecycle: create -> enroll -> the credential authenticates ->
// revoke -> the credential is refused at once; no secret in logs or
// status answers.
func TestLifecycle(t *testing.T) {
	e := newEnv(t, Config{})
	token := e.create(t, "gw-north-7", "north")
	en := e.enrollOK(t, token)
	if en.Gateway != "gw-north-7" || en.Site != "north" || en.HubCertSHA256 != testCertSHA ||
		!strings.HasPrefix(en.Credential, credPrefix) || len(en.Credential) != 47 {
		t.Fatalf("enrolment %+v", en)
	}
	if id, site, ok := e.authenticate(t, en.Credential); !ok || id != "gw-north-7" || site != "north" {
		t.Fatalf("authenticate = %q %q %v", id, site, ok)
	}
	var g gatewayJSON
	e.do(t, "GET", "/api/v1/gateways/gw-north-7", "root", nil).decode(t, &g)
	if g.EnrolledAt == "" || g.LastSeen == "" || g.Revoked || g.TokenExpires != "" {
		t.Fatalf("status after enrolment %+v", g)
	}
	if a := e.do(t, "DELETE", "/api/v1/gateways/gw-north-7", "root", nil); a.code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", a.code, a.body)
	}
	if _, _, ok := e.authenticate(t, en.Credential); ok {
		t.Fatal("revoked credential still authenticates")
	}
	e.do(t, "GET", "/api/v1/gateways/gw-north-7", "root", nil).decode(t, &g)
	if !g.Revoked {
		t.Fatalf("status after revocation %+v", g)
	}
	// revoking again is fine; the id stays taken
	if a := e.do(t, "DELETE", "/api/v1/gateways/gw-north-7", "root", nil); a.code != http.StatusNoContent {
		t.Fatalf("second revoke: %d", a.code)
	}
	if a := e.do(t, "POST", "/api/v1/gateways", "root", map[string]string{"id": "gw-north-7", "site": "north"}); a.code != http.StatusConflict {
		t.Fatalf("re-create revoked id: %d", a.code)
	}
	for _, secret := range []string{token, en.Credential, token[len(tokenPrefix):], en.Credential[len(credPrefix):]} {
		if strings.Contains(e.logs.String(), secret) {
			t.Fatal("a secret reached the log")
		}
	}
}

// TestEnrollRefused: a token works once, for TokenTTL, and only while its
// gateway is not revoked; everything else is a 401 (or 4xx) JSON error.
func TestEnrollRefused(t *testing.T) {
	tests := []struct {
		name string
		// prepare returns the body to post, after changing state.
		prepare func(t *testing.T, e *env) any
		want    int
	}{
		{"reused", func(t *testing.T, e *env) any {
			tok := e.create(t, "gw", "north")
			e.enrollOK(t, tok)
			return map[string]string{"token": tok}
		}, http.StatusUnauthorized},
		{"expired", func(t *testing.T, e *env) any {
			tok := e.create(t, "gw", "north")
			e.clock.Add(DefaultTokenTTL)
			return map[string]string{"token": tok}
		}, http.StatusUnauthorized},
		{"unknown", func(t *testing.T, e *env) any {
			e.create(t, "gw", "north")
			return map[string]string{"token": "vge_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
		}, http.StatusUnauthorized},
		{"credential as token", func(t *testing.T, e *env) any {
			en := e.enrollOK(t, e.create(t, "gw", "north"))
			return map[string]string{"token": en.Credential}
		}, http.StatusUnauthorized},
		{"revoked before enrolment", func(t *testing.T, e *env) any {
			tok := e.create(t, "gw", "north")
			if err := e.reg.Revoke(context.Background(), "gw"); err != nil {
				t.Fatal(err)
			}
			return map[string]string{"token": tok}
		}, http.StatusUnauthorized},
		{"empty token", func(*testing.T, *env) any { return map[string]string{"token": ""} }, http.StatusUnauthorized},
		{"huge token", func(*testing.T, *env) any {
			return map[string]string{"token": tokenPrefix + strings.Repeat("A", 10000)}
		}, http.StatusUnauthorized},
		{"unknown field", func(*testing.T, *env) any { return `{"token":"x","extra":1}` }, http.StatusBadRequest},
		{"not JSON", func(*testing.T, *env) any { return `token=x` }, http.StatusBadRequest},
		{"two objects", func(*testing.T, *env) any { return `{"token":"x"}{}` }, http.StatusBadRequest},
		{"over 64 KiB", func(*testing.T, *env) any {
			return `{"token":"` + strings.Repeat("a", maxBody) + `"}`
		}, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			a := e.postEnroll(t, tc.prepare(t, e))
			if a.code != tc.want {
				t.Fatalf("got %d %s, want %d", a.code, a.body, tc.want)
			}
			a.errCode(t)
			if strings.Contains(string(a.body), credPrefix) {
				t.Fatalf("refusal carries a credential: %s", a.body)
			}
		})
	}
}

// TestEnrollExpiryEdge: a token still works just before it expires, and
// TokenTTL is honoured.
func TestEnrollExpiryEdge(t *testing.T) {
	e := newEnv(t, Config{TokenTTL: time.Hour})
	tok := e.create(t, "gw", "north")
	e.clock.Add(time.Hour - time.Nanosecond)
	e.enrollOK(t, tok)
	tok2 := e.create(t, "gw2", "north")
	e.clock.Add(time.Hour)
	if a := e.postEnroll(t, map[string]string{"token": tok2}); a.code != http.StatusUnauthorized {
		t.Fatalf("expired token: %d", a.code)
	}
}

// TestEnrollRace: many gateways racing with one token get one credential.
func TestEnrollRace(t *testing.T) {
	e := newEnv(t, Config{EnrollBurst: 100})
	tok := e.create(t, "gw", "north")
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Go(func() { codes[i] = e.postEnroll(t, map[string]string{"token": tok}).code })
	}
	wg.Wait()
	won := 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			won++
		case http.StatusUnauthorized:
		default:
			t.Fatalf("code %d", c)
		}
	}
	if won != 1 {
		t.Fatalf("%d enrolments won with one token (%v)", won, codes)
	}
}

// TestEnrollMethod: only POST.
func TestEnrollMethod(t *testing.T) {
	e := newEnv(t, Config{})
	res, err := e.enroll.Client().Get(e.enroll.URL + EnrollPath)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST" {
		t.Fatalf("GET: %d allow=%q", res.StatusCode, res.Header.Get("Allow"))
	}
}

// TestEnrollRateLimit: after EnrollBurst failures an address gets 429 with
// Retry-After, even with a good token, until a try refills.
func TestEnrollRateLimit(t *testing.T) {
	e := newEnv(t, Config{EnrollBurst: 3, EnrollWindow: 30 * time.Second})
	tok := e.create(t, "gw", "north")
	bad := map[string]string{"token": "vge_nope"}
	for i := range 3 {
		if a := e.postEnroll(t, bad); a.code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, a.code)
		}
	}
	a := e.postEnroll(t, map[string]string{"token": tok})
	if a.code != http.StatusTooManyRequests || a.header.Get("Retry-After") != "10" {
		t.Fatalf("after burst: %d retry-after=%q", a.code, a.header.Get("Retry-After"))
	}
	a.errCode(t)
	e.clock.Add(10 * time.Second)
	e.enrollOK(t, tok)
}

// TestAuthenticateGateway: only an enrolled, unrevoked credential passes.
func TestAuthenticateGateway(t *testing.T) {
	e := newEnv(t, Config{})
	en := e.enrollOK(t, e.create(t, "gw-a", "north"))
	tokB := e.create(t, "gw-b", "south")
	tests := []struct {
		name, cred string
		ok         bool
	}{
		{"credential", en.Credential, true},
		{"token is no credential", tokB, false},
		{"empty", "", false},
		{"prefix only", credPrefix, false},
		{"altered", en.Credential[:len(en.Credential)-1] + "x", false},
		{"without prefix", en.Credential[len(credPrefix):], false},
		{"long", en.Credential + strings.Repeat("x", 1000), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, ok := e.authenticate(t, tc.cred); ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
		})
	}
}

// TestLastSeenThrottled: last_seen follows use, written at most every 30 s.
func TestLastSeenThrottled(t *testing.T) {
	e := newEnv(t, Config{})
	en := e.enrollOK(t, e.create(t, "gw", "north"))
	seen := func() time.Time {
		g, err := e.reg.Get(context.Background(), "gw")
		if err != nil {
			t.Fatal(err)
		}
		return g.LastSeen
	}
	t0 := e.clock.Now()
	e.authenticate(t, en.Credential)
	if !seen().Equal(t0) {
		t.Fatalf("last_seen %v, want %v", seen(), t0)
	}
	e.clock.Add(10 * time.Second)
	e.authenticate(t, en.Credential)
	if !seen().Equal(t0) {
		t.Fatal("last_seen written again within 30 s")
	}
	e.clock.Add(25 * time.Second)
	e.authenticate(t, en.Credential)
	if !seen().Equal(e.clock.Now()) {
		t.Fatal("last_seen not refreshed after 30 s")
	}
}

// TestRegistryPersists: a second registry on the same database sees the
// gateway and its credential.
func TestRegistryPersists(t *testing.T) {
	e := newEnv(t, Config{})
	en := e.enrollOK(t, e.create(t, "gw", "north"))
	r2, err := New(Config{}, Deps{DB: e.idx.DB(), Sites: e.idx})
	if err != nil {
		t.Fatal(err)
	}
	if id, _, ok := r2.AuthenticateGateway(context.Background(), en.Credential); !ok || id != "gw" {
		t.Fatalf("after reopen: %q %v", id, ok)
	}
}

// TestAuthorizePublish: a gateway may push only cameras of its own site,
// and nothing once revoked.
func TestAuthorizePublish(t *testing.T) {
	e := newEnv(t, Config{})
	n := e.enrollOK(t, e.create(t, "gw-n", "north"))
	s := e.enrollOK(t, e.create(t, "gw-s", "south"))
	tests := []struct {
		name, cred, site string
		ok               bool
	}{
		{"own site", n.Credential, "north", true},
		{"other site", n.Credential, "south", false},
		{"camera without site", n.Credential, "", false},
		{"other gateway, own site", s.Credential, "south", true},
		{"not a credential", "vge_x", "north", false},
	}
	ctx := testutil.Context(t, 10*time.Second)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := e.reg.AuthorizePublish(ctx, tc.cred, tc.site); ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
		})
	}
	if err := e.reg.Revoke(ctx, "gw-n"); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.reg.AuthorizePublish(ctx, n.Credential, "north"); ok {
		t.Fatal("revoked gateway may still publish")
	}
}
