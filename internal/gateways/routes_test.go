package gateways

import (
	"net/http"
	"strings"
	"testing"
)

// TestCreateRefused: bad input and the wrong roles.
func TestCreateRefused(t *testing.T) {
	tests := []struct {
		name, user string
		body       any
		want       int
	}{
		{"no credentials", "", map[string]string{"id": "gw", "site": "north"}, http.StatusUnauthorized},
		{"viewer", "view", map[string]string{"id": "gw", "site": "north"}, http.StatusForbidden},
		{"operator", "op", map[string]string{"id": "gw", "site": "north"}, http.StatusForbidden},
		{"auditor", "aud", map[string]string{"id": "gw", "site": "north"}, http.StatusForbidden},
		{"unknown site", "root", map[string]string{"id": "gw", "site": "east"}, http.StatusNotFound},
		{"bad site", "root", map[string]string{"id": "gw", "site": "../x"}, http.StatusNotFound},
		{"bad id", "root", map[string]string{"id": "GW North", "site": "north"}, http.StatusBadRequest},
		{"empty id", "root", map[string]string{"site": "north"}, http.StatusBadRequest},
		{"reserved id", "root", map[string]string{"id": "enroll", "site": "north"}, http.StatusBadRequest},
		{"long id", "root", map[string]string{"id": strings.Repeat("a", 65), "site": "north"}, http.StatusBadRequest},
		{"existing id", "root", map[string]string{"id": "gw-1", "site": "south"}, http.StatusConflict},
		{"unknown field", "root", `{"id":"gw","site":"north","token":"vge_x"}`, http.StatusBadRequest},
		{"over 64 KiB", "root", `{"id":"gw","site":"` + strings.Repeat("n", maxBody) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			e.create(t, "gw-1", "north")
			a := e.do(t, "POST", "/api/v1/gateways", tc.user, tc.body)
			if a.code != tc.want {
				t.Fatalf("got %d %s, want %d", a.code, a.body, tc.want)
			}
			a.errCode(t)
			if strings.Contains(string(a.body), tokenPrefix) {
				t.Fatalf("refusal carries a token: %s", a.body)
			}
		})
	}
}

// TestScoping: who sees which gateways, by list and by id, and who may
// revoke; list answers never carry a secret.
func TestScoping(t *testing.T) {
	e := newEnv(t, Config{})
	tokN := e.create(t, "gw-n", "north")
	tokS := e.create(t, "gw-s", "south")
	en := e.enrollOK(t, tokN)
	secrets := []string{tokN, tokS, en.Credential, tokenPrefix, credPrefix}

	lists := []struct {
		user, query string
		code        int
		want        []string
	}{
		{"root", "", http.StatusOK, []string{"gw-n", "gw-s"}},
		{"root", "?site=south", http.StatusOK, []string{"gw-s"}},
		{"opall", "", http.StatusOK, []string{"gw-n", "gw-s"}},
		{"op", "", http.StatusOK, []string{"gw-n"}},
		{"op", "?site=south", http.StatusOK, nil},
		{"view", "", http.StatusForbidden, nil},
		{"aud", "", http.StatusForbidden, nil},
		{"", "", http.StatusUnauthorized, nil},
	}
	for _, tc := range lists {
		t.Run("list "+tc.user+tc.query, func(t *testing.T) {
			a := e.do(t, "GET", "/api/v1/gateways"+tc.query, tc.user, nil)
			if a.code != tc.code {
				t.Fatalf("got %d %s, want %d", a.code, a.body, tc.code)
			}
			for _, s := range secrets {
				if strings.Contains(string(a.body), s) {
					t.Fatalf("list answer holds a secret: %s", a.body)
				}
			}
			if a.code != http.StatusOK {
				a.errCode(t)
				return
			}
			var l struct{ Gateways []gatewayJSON }
			a.decode(t, &l)
			var got []string
			for _, g := range l.Gateways {
				got = append(got, g.ID)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("sees %v, want %v", got, tc.want)
			}
		})
	}

	byID := []struct {
		method, user, id string
		code             int
	}{
		{"GET", "root", "gw-s", http.StatusOK},
		{"GET", "op", "gw-n", http.StatusOK},
		{"GET", "op", "gw-s", http.StatusNotFound},
		{"GET", "op", "gw-none", http.StatusNotFound},
		{"GET", "view", "gw-n", http.StatusForbidden},
		{"GET", "aud", "gw-n", http.StatusForbidden},
		{"GET", "root", "Bad%20Id", http.StatusBadRequest},
		{"DELETE", "op", "gw-n", http.StatusForbidden},
		{"DELETE", "view", "gw-n", http.StatusForbidden},
		{"DELETE", "root", "gw-none", http.StatusNotFound},
	}
	for _, tc := range byID {
		t.Run(tc.method+" "+tc.user+" "+tc.id, func(t *testing.T) {
			a := e.do(t, tc.method, "/api/v1/gateways/"+tc.id, tc.user, nil)
			if a.code != tc.code {
				t.Fatalf("got %d %s, want %d", a.code, a.body, tc.code)
			}
			for _, s := range secrets {
				if strings.Contains(string(a.body), s) {
					t.Fatalf("answer holds a secret: %s", a.body)
				}
			}
			if a.code != http.StatusOK {
				a.errCode(t)
			}
		})
	}
	if _, _, ok := e.authenticate(t, en.Credential); !ok {
		t.Fatal("a refused DELETE revoked the gateway")
	}
}

// TestNewToken: an admin replaces the token of a gateway that has not
// enrolled (the old one stops working); enrolled and revoked gateways get
// none.
func TestNewToken(t *testing.T) {
	e := newEnv(t, Config{})
	old := e.create(t, "gw", "north")
	e.clock.Add(DefaultTokenTTL) // the first token expired unused
	if a := e.do(t, "POST", "/api/v1/gateways/gw/token", "op", nil); a.code != http.StatusForbidden {
		t.Fatalf("operator: %d", a.code)
	}
	a := e.do(t, "POST", "/api/v1/gateways/gw/token", "root", nil)
	if a.code != http.StatusCreated {
		t.Fatalf("new token: %d %s", a.code, a.body)
	}
	var c created
	a.decode(t, &c)
	if c.ID != "gw" || !strings.HasPrefix(c.Token, tokenPrefix) || c.Token == old {
		t.Fatalf("answer %s", a.body)
	}
	if a := e.postEnroll(t, map[string]string{"token": old}); a.code != http.StatusUnauthorized {
		t.Fatalf("old token: %d", a.code)
	}
	e.enrollOK(t, c.Token)
	e.create(t, "gw-r", "north")
	if a := e.do(t, "DELETE", "/api/v1/gateways/gw-r", "root", nil); a.code != http.StatusNoContent {
		t.Fatalf("revoke: %d", a.code)
	}
	for _, tc := range []struct {
		id   string
		want int
	}{{"gw", http.StatusConflict}, {"gw-r", http.StatusConflict}, {"gw-none", http.StatusNotFound}, {"BAD", http.StatusBadRequest}} {
		a := e.do(t, "POST", "/api/v1/gateways/"+tc.id+"/token", "root", nil)
		if a.code != tc.want {
			t.Fatalf("%s: %d %s, want %d", tc.id, a.code, a.body, tc.want)
		}
		if strings.Contains(string(a.body), tokenPrefix) {
			t.Fatalf("refusal carries a token: %s", a.body)
		}
	}
}
