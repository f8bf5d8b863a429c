package api

import (
	"strings"
	"testing"
)

func TestTokensAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, "POST", "/api/v1/tokens", map[string]string{"name": "ci", "expires_in": "720h"}, asView()).must(t, 201)
	var tok tokenJSON
	r.json(t, &tok)
	if !strings.HasPrefix(tok.Token, "vgt_") || tok.ID == "" || tok.Name != "ci" || tok.ExpiresAt != "2025-07-01T12:00:00Z" {
		t.Fatalf("token = %+v", tok)
	}
	e.do(t, "POST", "/api/v1/tokens", map[string]string{"name": "forever"}, asView()).must(t, 201)
	e.do(t, "POST", "/api/v1/tokens", map[string]string{"name": "root's"}, asRoot()).must(t, 201)

	r = e.do(t, "GET", "/api/v1/tokens", nil, bearer(tok.Token)).must(t, 200)
	if strings.Contains(string(r.body), tok.Token) || strings.Contains(string(r.body), `"token"`) {
		t.Fatalf("list shows secrets: %s", r.body)
	}
	var list struct {
		Tokens []tokenJSON `json:"tokens"`
		Next   *string     `json:"next"`
	}
	r.json(t, &list)
	if len(list.Tokens) != 2 || list.Next == nil || *list.Next != "" {
		t.Fatalf("list = %s", r.body)
	}
	// Someone else's token is not found.
	e.do(t, "DELETE", "/api/v1/tokens/"+tok.ID, nil, asRoot()).must(t, 404)
	e.do(t, "DELETE", "/api/v1/tokens/"+tok.ID, nil, asView()).must(t, 204)
	e.do(t, "GET", "/api/v1/me", nil, bearer(tok.Token)).must(t, 401)
	e.do(t, "DELETE", "/api/v1/tokens/"+tok.ID, nil, asView()).must(t, 404)
}

func TestTokensAPIErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		want   int
	}{
		{"no name", "POST", "/api/v1/tokens", map[string]string{}, 400},
		{"long name", "POST", "/api/v1/tokens", map[string]string{"name": strings.Repeat("x", 65)}, 400},
		{"bad expiry", "POST", "/api/v1/tokens", map[string]string{"name": "a", "expires_in": "soon"}, 400},
		{"negative expiry", "POST", "/api/v1/tokens", map[string]string{"name": "a", "expires_in": "-1h"}, 400},
		{"huge expiry", "POST", "/api/v1/tokens", map[string]string{"name": "a", "expires_in": "1000000h"}, 400},
		{"expiry as number", "POST", "/api/v1/tokens", map[string]any{"name": "a", "expires_in": 60}, 400},
		{"bad id", "DELETE", "/api/v1/tokens/..%2F..", nil, 400},
		{"sql id", "DELETE", "/api/v1/tokens/1'%20OR%20'1'='1", nil, 400},
		{"no auth", "GET", "/api/v1/tokens", nil, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := asOpAll()
			if tt.want == 401 {
				c = noCred
			}
			e.do(t, tt.method, tt.path, tt.body, c).must(t, tt.want)
		})
	}
}
