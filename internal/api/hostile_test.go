package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHostileInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addCamera(t, "gate-1", "north", "")
	big := `{"id":"x","name":"` + strings.Repeat("a", 2<<20) + `"}`
	tests := []struct {
		name         string
		method, path string
		body         string
		hdr          []string
		want         int
		code         string
	}{
		{"oversized body", "POST", "/api/v1/cameras", big, nil, 413, codeTooLarge},
		{"oversized login", "POST", "/api/v1/login", `{"username":"root","password":"` + strings.Repeat("p", 2<<20) + `"}`, nil, 413, codeTooLarge},
		{"form content type", "POST", "/api/v1/sites", `{"id":"x"}`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, codeUnsupportedType},
		{"text content type", "POST", "/api/v1/sites", `{"id":"x"}`, []string{"Content-Type", "text/plain"}, 415, codeUnsupportedType},
		{"json with charset", "POST", "/api/v1/sites", `{"id":"x"}`, []string{"Content-Type", "application/json; charset=utf-8"}, 201, ""},
		{"trailing data", "POST", "/api/v1/sites", `{"id":"y"} {"id":"z"}`, nil, 400, codeBadRequest},
		{"trailing garbage", "POST", "/api/v1/sites", `{"id":"y"}]`, nil, 400, codeBadRequest},
		{"array body", "POST", "/api/v1/sites", `[{"id":"y"}]`, nil, 400, codeBadRequest},
		{"truncated", "POST", "/api/v1/sites", `{"id":"y"`, nil, 400, codeBadRequest},
		{"malformed", "POST", "/api/v1/sites", `{id: y}`, nil, 400, codeBadRequest},
		{"null body", "POST", "/api/v1/sites", `null`, nil, 400, codeBadRequest},
		{"deep nesting", "POST", "/api/v1/cameras", `{"id":"d","analytics":` + strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000) + `}`, nil, 400, codeBadRequest},
		{"encoded traversal", "GET", "/api/v1/cameras/..%2F..%2F..%2Fetc%2Fpasswd", "", nil, 400, codeBadRequest},
		{"encoded null byte", "GET", "/api/v1/cameras/a%00b", "", nil, 400, codeBadRequest},
		{"unicode id", "GET", "/api/v1/cameras/g%C3%A5te", "", nil, 400, codeBadRequest},
		{"long id", "GET", "/api/v1/cameras/" + strings.Repeat("a", 65), "", nil, 400, codeBadRequest},
		{"sql in query", "GET", "/api/v1/events?camera=x%27%20OR%20%271%27%3D%271", "", nil, 400, codeBadRequest},
		{"huge cursor", "GET", "/api/v1/events?cursor=" + strings.Repeat("a", 300), "", nil, 400, codeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			r := e.do(t, tt.method, tt.path, body, asRoot(), tt.hdr...).must(t, tt.want)
			if tt.code != "" && r.errCode(t) != tt.code {
				t.Fatalf("code = %s", r.body)
			}
		})
	}
}

func TestNullSiteName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A body sent without Content-Type is accepted as JSON.
	req := httptest.NewRequest("POST", "/api/v1/sites", strings.NewReader(`{"id":"plain"}`))
	req.SetBasicAuth("root", pwRoot)
	rec := httptest.NewRecorder()
	e.api.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("no content type: %d %s", rec.Code, rec.Body)
	}
	// A chunked oversized body (no Content-Length) is cut at the limit.
	req = httptest.NewRequest("POST", "/api/v1/sites", strings.NewReader(`{"id":"big","name":"`+strings.Repeat("a", 2<<20)+`"}`))
	req.ContentLength = -1
	req.SetBasicAuth("root", pwRoot)
	rec = httptest.NewRecorder()
	e.api.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked oversized: %d %s", rec.Code, rec.Body)
	}
}
