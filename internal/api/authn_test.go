package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAuthenticationMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	tok, err := e.auth.CreateToken(ctx, "view", "ci", 0)
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := e.auth.CreateToken(ctx, "view", "old", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.auth.RevokeToken(ctx, "view", revoked.ID); err != nil {
		t.Fatal(err)
	}
	_, ses, err := e.auth.Login(ctx, "view", pwView, "x")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		c    cred
		hdr  []string
		want int
	}{
		{name: "none", c: noCred, want: 401},
		{name: "none from script", c: noCred, hdr: []string{"X-Requested-With", "fetch"}, want: 401},
		{name: "basic", c: asView(), want: 200},
		{name: "basic wrong password", c: basic("op", "nope-nope"), want: 401},
		{name: "basic unknown user", c: basic("ghost", "whatever1"), want: 401},
		{name: "basic malformed", c: func(r *http.Request) { r.Header.Set("Authorization", "Basic !!!") }, want: 401},
		{name: "bearer", c: bearer(tok.Secret), want: 200},
		{name: "bearer revoked", c: bearer(revoked.Secret), want: 401},
		{name: "bearer garbage", c: bearer("vgt_garbage"), want: 401},
		{name: "bearer session id", c: bearer(ses.Token), want: 401},
		{name: "cookie", c: cookie(ses.Token), want: 200},
		{name: "cookie garbage", c: cookie("abc"), want: 401},
		{name: "cookie token", c: cookie(tok.Secret), want: 401},
		{name: "unknown scheme", c: func(r *http.Request) { r.Header.Set("Authorization", "Digest x") }, want: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "GET", "/api/v1/me", nil, tt.c, tt.hdr...).must(t, tt.want)
			if tt.want == 200 {
				var p principalJSON
				r.json(t, &p)
				if p.Username != "view" || p.Role != "viewer" || p.Sites[0] != "north" || len(p.Permissions) != 3 {
					t.Fatalf("me = %+v", p)
				}
				return
			}
			if r.errCode(t) != codeUnauthorized {
				t.Fatalf("code %s", r.body)
			}
			if got := r.header.Get("WWW-Authenticate") != ""; got != (tt.hdr == nil) {
				t.Fatalf("WWW-Authenticate present = %v", got)
			}
		})
	}
}

func TestLoginLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, "POST", "/api/v1/login", map[string]string{"username": "op", "password": pwOp}, noCred).must(t, 200)
	var p principalJSON
	r.json(t, &p)
	if p.Username != "op" || p.Role != "operator" {
		t.Fatalf("login = %+v", p)
	}
	cookies := r.res.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies = %v", cookies)
	}
	c := cookies[0]
	if c.Name != SessionCookie || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
		t.Fatalf("cookie = %+v", c)
	}
	if !c.Expires.Equal(e.now.Add(24*time.Hour).Truncate(time.Second)) || c.MaxAge != 86400 {
		t.Fatalf("cookie expiry = %v / %d", c.Expires, c.MaxAge)
	}
	if strings.Contains(string(r.body), c.Value) {
		t.Fatal("session id in the body")
	}
	e.do(t, "GET", "/api/v1/me", nil, cookie(c.Value)).must(t, 200)
	r = e.do(t, "POST", "/api/v1/logout", nil, cookie(c.Value)).must(t, 204)
	if out := r.res.Cookies(); len(out) != 1 || out[0].MaxAge != -1 {
		t.Fatalf("logout cookie = %v", out)
	}
	e.do(t, "GET", "/api/v1/me", nil, cookie(c.Value)).must(t, 401)
	e.do(t, "POST", "/api/v1/logout", nil, noCred).must(t, 401)
	e.do(t, "POST", "/api/v1/logout", nil, asOp()).must(t, 204)
}

func TestLoginErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name string
		body any
		want int
		code string
	}{
		{"wrong password", map[string]string{"username": "root", "password": "wrong-pass"}, 401, codeUnauthorized},
		{"unknown user", map[string]string{"username": "nobody", "password": "wrong-pass"}, 401, codeUnauthorized},
		{"missing password", map[string]string{"username": "root"}, 400, codeBadRequest},
		{"unknown field", map[string]string{"username": "root", "password": "x", "otp": "1"}, 400, codeBadRequest},
		{"not json", "username=root", 400, codeBadRequest},
		{"wrong type", map[string]any{"username": 1, "password": "x"}, 400, codeBadRequest},
		{"empty", "", 400, codeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "POST", "/api/v1/login", tt.body, noCred).must(t, tt.want)
			if got := r.errCode(t); got != tt.code {
				t.Fatalf("code = %s", got)
			}
			if len(r.res.Cookies()) != 0 {
				t.Fatal("cookie set on failure")
			}
		})
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bad := map[string]string{"username": "op", "password": "wrong-password"}
	for range 5 {
		e.do(t, "POST", "/api/v1/login", bad, noCred).must(t, 401)
	}
	good := map[string]string{"username": "op", "password": pwOp}
	r := e.do(t, "POST", "/api/v1/login", good, noCred).must(t, 429)
	if r.errCode(t) != codeTooManyRequests || r.header.Get("Retry-After") != "12" {
		t.Fatalf("429 = %s, Retry-After %q", r.body, r.header.Get("Retry-After"))
	}
	// Basic auth for the same user and address is limited too.
	e.do(t, "GET", "/api/v1/me", nil, asOp()).must(t, 429)
	// Other users are not.
	e.do(t, "POST", "/api/v1/login", map[string]string{"username": "root", "password": pwRoot}, noCred).must(t, 200)
	e.now = e.now.Add(12 * time.Second)
	e.do(t, "POST", "/api/v1/login", good, noCred).must(t, 200)
}

func TestCrossOriginRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, ses, err := e.auth.Login(context.Background(), "root", pwRoot, "x")
	if err != nil {
		t.Fatal(err)
	}
	site := map[string]string{"id": "east"}
	r := e.do(t, "POST", "/api/v1/sites", site, cookie(ses.Token), "Sec-Fetch-Site", "cross-site").must(t, 403)
	if r.errCode(t) != codeForbidden {
		t.Fatal(string(r.body))
	}
	e.do(t, "POST", "/api/v1/sites", site, cookie(ses.Token), "Origin", "https://evil.example").must(t, 403)
	e.do(t, "POST", "/api/v1/sites", site, cookie(ses.Token), "Sec-Fetch-Site", "same-origin").must(t, 201)
	// Reading is always allowed.
	e.do(t, "GET", "/api/v1/sites", nil, cookie(ses.Token), "Sec-Fetch-Site", "cross-site").must(t, 200)
}
