package gateways

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// enrollSeeds are the bodies of TestEnrollRefused and more, the fuzz seed.
var enrollSeeds = []string{
	`{"token":"vge_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`,
	`{"token":""}`,
	`{"token":"x","extra":1}`,
	`token=x`,
	`{"token":"x"}{}`,
	`{"token":null}`,
	`{"token":["vge_"]}`,
	`[]`,
	``,
	`{"token":"vgc_AAAA"}`,
	"{\"token\":\"vge_\u0000\"}",
}

// FuzzEnroll: no body makes the enrolment handler panic, answer 5xx, or
// hand out a credential without the right token; every refusal is a JSON
// error.
func FuzzEnroll(f *testing.F) {
	for _, s := range enrollSeeds {
		f.Add(s)
	}
	e := newEnv(f, Config{EnrollBurst: 1 << 30})
	tok := e.create(f, "gw", "north")
	h := e.reg.Enroll()
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", EnrollPath, strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		a := answer{code: rec.Code, body: rec.Body.Bytes()}
		if a.code == http.StatusOK {
			if !strings.Contains(body, tok) {
				t.Fatalf("enrolled without the token: %q", body)
			}
			return
		}
		switch a.code {
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q", a.code, body)
		}
		a.errCode(t)
		if strings.Contains(string(a.body), credPrefix) {
			t.Fatalf("refusal carries a credential: %s", a.body)
		}
	})
}
