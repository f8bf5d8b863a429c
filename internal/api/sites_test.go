package api

import (
	"testing"
)

func TestSitesAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, "POST", "/api/v1/sites", map[string]string{"id": "north-7", "name": "North depot", "region": "north"}, asRoot()).must(t, 201)
	var s siteJSON
	r.json(t, &s)
	if s.ID != "north-7" || s.Name != "North depot" || s.Region != "north" || s.CreatedAt == "" {
		t.Fatalf("created = %+v", s)
	}
	r = e.do(t, "POST", "/api/v1/sites", map[string]string{"id": "east"}, asRoot()).must(t, 201)
	r.json(t, &s)
	if s.Name != "east" {
		t.Fatalf("default name = %q", s.Name)
	}
	r = e.do(t, "PATCH", "/api/v1/sites/north-7", map[string]string{"id": "north-7", "region": "far north"}, asRoot()).must(t, 200)
	r.json(t, &s)
	if s.Name != "North depot" || s.Region != "far north" {
		t.Fatalf("patched = %+v", s)
	}
	r = e.do(t, "GET", "/api/v1/sites", nil, asRoot()).must(t, 200)
	var list struct {
		Sites []siteJSON
		Next  string
	}
	r.json(t, &list)
	if len(list.Sites) != 4 {
		t.Fatalf("list = %s", r.body)
	}
	e.addCamera(t, "cam-e", "east", "")
	e.do(t, "DELETE", "/api/v1/sites/east", nil, asRoot()).must(t, 409)
	e.do(t, "DELETE", "/api/v1/cameras/cam-e", nil, asRoot()).must(t, 204)
	e.do(t, "DELETE", "/api/v1/sites/east", nil, asRoot()).must(t, 204)
	e.do(t, "GET", "/api/v1/sites/east", nil, asRoot()).must(t, 404)
}

func TestSitesScoping(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, "GET", "/api/v1/sites", nil, asView()).must(t, 200)
	var list struct{ Sites []siteJSON }
	r.json(t, &list)
	if len(list.Sites) != 1 || list.Sites[0].ID != "north" {
		t.Fatalf("scoped list = %s", r.body)
	}
	e.do(t, "GET", "/api/v1/sites/north", nil, asView()).must(t, 200)
	hidden := e.do(t, "GET", "/api/v1/sites/south", nil, asView()).must(t, 404)
	missing := e.do(t, "GET", "/api/v1/sites/nowhere", nil, asOpAll()).must(t, 404)
	if string(hidden.body) != string(missing.body) {
		t.Fatalf("out of scope %s differs from missing %s", hidden.body, missing.body)
	}
	e.do(t, "GET", "/api/v1/sites/south", nil, asOpAll()).must(t, 200)
}

func TestSitesAPIErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name         string
		method, path string
		body         any
		c            cred
		want         int
	}{
		{"viewer create", "POST", "/api/v1/sites", map[string]string{"id": "x"}, asView(), 403},
		{"operator patch", "PATCH", "/api/v1/sites/north", map[string]string{"name": "x"}, asOp(), 403},
		{"auditor list", "GET", "/api/v1/sites", nil, asAud(), 403},
		{"duplicate", "POST", "/api/v1/sites", map[string]string{"id": "north"}, asRoot(), 409},
		{"no id", "POST", "/api/v1/sites", map[string]string{"name": "x"}, asRoot(), 400},
		{"upper id", "POST", "/api/v1/sites", map[string]string{"id": "North"}, asRoot(), 400},
		{"traversal id", "POST", "/api/v1/sites", map[string]string{"id": "../x"}, asRoot(), 400},
		{"sql id", "POST", "/api/v1/sites", map[string]string{"id": "x';--"}, asRoot(), 400},
		{"long id", "POST", "/api/v1/sites", map[string]string{"id": "a123456789012345678901234567890123456789012345678901234567890123x"}, asRoot(), 400},
		{"control name", "POST", "/api/v1/sites", map[string]string{"id": "x", "name": "a\x00b"}, asRoot(), 400},
		{"get bad id", "GET", "/api/v1/sites/..%2F..%2Fetc", nil, asRoot(), 400},
		{"patch id change", "PATCH", "/api/v1/sites/north", map[string]string{"id": "south"}, asRoot(), 400},
		{"patch empty name", "PATCH", "/api/v1/sites/north", map[string]string{"name": ""}, asRoot(), 400},
		{"patch missing", "PATCH", "/api/v1/sites/ghost", map[string]string{"name": "x"}, asRoot(), 404},
		{"delete missing", "DELETE", "/api/v1/sites/ghost", nil, asRoot(), 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(t, tt.method, tt.path, tt.body, tt.c).must(t, tt.want).errCode(t)
		})
	}
}
