package api

import (
	"strings"
	"testing"
)

func TestUsersAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const pw = "ann-Secret-pw"
	r := e.do(t, "POST", "/api/v1/users", map[string]any{"username": "ann", "password": pw, "role": "viewer", "sites": []string{"north"}}, asRoot()).must(t, 201)
	var u userJSON
	r.json(t, &u)
	if u.Username != "ann" || u.Role != "viewer" || len(u.Sites) != 1 || u.CreatedAt == "" {
		t.Fatalf("created = %+v", u)
	}
	e.do(t, "GET", "/api/v1/me", nil, basic("ann", pw)).must(t, 200)

	r = e.do(t, "GET", "/api/v1/users", nil, asRoot()).must(t, 200)
	var list struct{ Users []userJSON }
	r.json(t, &list)
	if len(list.Users) != 6 || list.Users[0].Username != "ann" {
		t.Fatalf("list = %s", r.body)
	}
	for _, body := range [][]byte{r.body, e.do(t, "GET", "/api/v1/users/ann", nil, asRoot()).must(t, 200).body} {
		if strings.Contains(string(body), "argon2") || strings.Contains(string(body), pw) || strings.Contains(string(body), "password") {
			t.Fatalf("user answer leaks: %s", body)
		}
	}
	r = e.do(t, "PATCH", "/api/v1/users/ann", map[string]any{"role": "operator", "sites": []string{}}, asRoot()).must(t, 200)
	r.json(t, &u)
	if u.Role != "operator" || len(u.Sites) != 0 {
		t.Fatalf("patched = %+v", u)
	}
	e.do(t, "PATCH", "/api/v1/users/ann", map[string]any{"password": "ann-new-password"}, asRoot()).must(t, 200)
	e.do(t, "GET", "/api/v1/me", nil, basic("ann", "ann-new-password")).must(t, 200)
	e.do(t, "DELETE", "/api/v1/users/ann", nil, asRoot()).must(t, 204)
	e.do(t, "GET", "/api/v1/users/ann", nil, asRoot()).must(t, 404)
	e.do(t, "DELETE", "/api/v1/users/root", nil, asRoot()).must(t, 409)
	e.do(t, "PATCH", "/api/v1/users/root", map[string]any{"role": "viewer"}, asRoot()).must(t, 409)
}

func TestUsersAPIErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name         string
		method, path string
		body         any
		c            cred
		want         int
	}{
		{"operator cannot list", "GET", "/api/v1/users", nil, asOpAll(), 403},
		{"viewer cannot create", "POST", "/api/v1/users", map[string]any{"username": "x", "password": "password1", "role": "viewer"}, asView(), 403},
		{"auditor cannot read", "GET", "/api/v1/users/root", nil, asAud(), 403},
		{"duplicate", "POST", "/api/v1/users", map[string]any{"username": "op", "password": "password1", "role": "viewer"}, asRoot(), 409},
		{"bad name", "POST", "/api/v1/users", map[string]any{"username": "../etc", "password": "password1", "role": "viewer"}, asRoot(), 400},
		{"short password", "POST", "/api/v1/users", map[string]any{"username": "x", "password": "short", "role": "viewer"}, asRoot(), 400},
		{"bad role", "POST", "/api/v1/users", map[string]any{"username": "x", "password": "password1", "role": "god"}, asRoot(), 400},
		{"unknown site", "POST", "/api/v1/users", map[string]any{"username": "x", "password": "password1", "role": "viewer", "sites": []string{"mars"}}, asRoot(), 400},
		{"bad site", "POST", "/api/v1/users", map[string]any{"username": "x", "password": "password1", "role": "viewer", "sites": []string{"a;drop"}}, asRoot(), 400},
		{"scoped admin", "POST", "/api/v1/users", map[string]any{"username": "x", "password": "password1", "role": "admin", "sites": []string{"north"}}, asRoot(), 400},
		{"unknown field", "POST", "/api/v1/users", map[string]any{"username": "x", "password": "password1", "role": "viewer", "admin": true}, asRoot(), 400},
		{"get missing", "GET", "/api/v1/users/ghost", nil, asRoot(), 404},
		{"get bad name", "GET", "/api/v1/users/Bad%20Name", nil, asRoot(), 400},
		{"patch missing", "PATCH", "/api/v1/users/ghost", map[string]any{"role": "viewer"}, asRoot(), 404},
		{"patch bad role", "PATCH", "/api/v1/users/op", map[string]any{"role": "god"}, asRoot(), 400},
		{"patch unknown site", "PATCH", "/api/v1/users/op", map[string]any{"sites": []string{"mars"}}, asRoot(), 400},
		{"delete missing", "DELETE", "/api/v1/users/ghost", nil, asRoot(), 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, tt.method, tt.path, tt.body, tt.c).must(t, tt.want)
			r.errCode(t)
		})
	}
}
