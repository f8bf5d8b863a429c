package api

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestCamerasAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	r := e.do(t, "POST", "/api/v1/cameras", map[string]any{
		"id": "gate-1", "name": "Gate 1", "site": "north",
		"source": "rtsp://user:pass@10.0.0.5:554/stream1", "transport": "tcp",
		"retention_days": 7, "analytics": map[string]any{"motion": map[string]any{"enabled": true}},
	}, asRoot()).must(t, 201)
	var c cameraJSON
	r.json(t, &c)
	if c.Source != "rtsp://10.0.0.5:554/stream1" || c.Transport != "tcp" || !c.Record || c.RetentionDays != 7 ||
		string(c.Analytics) != `{"motion":{"enabled":true}}` || c.Status.State != StateOffline {
		t.Fatalf("created = %s", r.body)
	}
	if got := e.rt.lastChanged(); got.ID != "gate-1" || got.Source != "rtsp://user:pass@10.0.0.5:554/stream1" {
		t.Fatalf("runtime got %+v", got)
	}

	r = e.do(t, "POST", "/api/v1/cameras", map[string]any{"id": "push-1"}, asRoot()).must(t, 201)
	r.json(t, &c)
	if c.Name != "push-1" || c.Source != "" || c.Transport != "auto" || !c.Record || string(c.Analytics) != "{}" || c.Site != "" {
		t.Fatalf("defaults = %s", r.body)
	}
	e.do(t, "POST", "/api/v1/cameras", map[string]any{"id": "off", "record": false, "site": "south"}, asRoot()).must(t, 201)

	r = e.do(t, "GET", "/api/v1/cameras", nil, asRoot()).must(t, 200)
	var list struct {
		Cameras []cameraJSON
		Next    *string
	}
	r.json(t, &list)
	if len(list.Cameras) != 3 || list.Cameras[0].ID != "gate-1" || list.Next == nil {
		t.Fatalf("list = %s", r.body)
	}
	r = e.do(t, "GET", "/api/v1/cameras?site=south", nil, asRoot()).must(t, 200)
	r.json(t, &list)
	if len(list.Cameras) != 1 || list.Cameras[0].ID != "off" || list.Cameras[0].Record {
		t.Fatalf("site filter = %s", r.body)
	}
	e.do(t, "DELETE", "/api/v1/cameras/gate-1", nil, asRoot()).must(t, 204)
	e.do(t, "GET", "/api/v1/cameras/gate-1", nil, asRoot()).must(t, 404)
	e.do(t, "DELETE", "/api/v1/cameras/gate-1", nil, asRoot()).must(t, 404)
	if _, err := e.idx.GetCamera(ctx, "gate-1"); err == nil {
		t.Fatal("camera still in index")
	}
	e.rt.mu.Lock()
	removed := e.rt.removed
	e.rt.mu.Unlock()
	if len(removed) != 1 || removed[0] != "gate-1" {
		t.Fatalf("removed = %v", removed)
	}
}

func TestCameraPatchSource(t *testing.T) {
	t.Parallel()
	const stored = "rtsp://user:pass@10.0.0.5:554/stream1"
	tests := []struct {
		name, patch, want string
	}{
		{"stripped url back keeps creds", "rtsp://10.0.0.5:554/stream1", stored},
		{"same host new path keeps creds", "rtsp://10.0.0.5:554/stream2", "rtsp://user:pass@10.0.0.5:554/stream2"},
		{"default port is the same port", "rtsp://10.0.0.5/stream2", "rtsp://user:pass@10.0.0.5/stream2"},
		{"new host drops creds", "rtsp://10.0.0.6:554/stream1", "rtsp://10.0.0.6:554/stream1"},
		{"other port drops creds", "rtsp://10.0.0.5:8554/stream1", "rtsp://10.0.0.5:8554/stream1"},
		{"new creds replace", "rtsp://bob:pw2@10.0.0.5:554/stream1", "rtsp://bob:pw2@10.0.0.5:554/stream1"},
		{"empty userinfo clears", "rtsp://@10.0.0.5:554/stream1", "rtsp://10.0.0.5:554/stream1"},
		{"empty source: push", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.addCamera(t, "gate-1", "north", stored)
			r := e.do(t, "PATCH", "/api/v1/cameras/gate-1", map[string]any{"source": tt.patch}, asRoot()).must(t, 200)
			var c cameraJSON
			r.json(t, &c)
			if c.Source != stripSource(tt.want) {
				t.Errorf("answer source = %q", c.Source)
			}
			got, err := e.idx.GetCamera(context.Background(), "gate-1")
			if err != nil || got.Source != tt.want {
				t.Errorf("stored source = %q, want %q", got.Source, tt.want)
			}
			if tt.want != stored && e.rt.lastChanged().Source != tt.want {
				t.Errorf("runtime not told: %+v", e.rt.lastChanged())
			}
		})
	}
}

func TestCameraPatchFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addCamera(t, "gate-1", "north", "rtsp://10.0.0.5/s")
	r := e.do(t, "PATCH", "/api/v1/cameras/gate-1", map[string]any{
		"id": "gate-1", "name": "Main gate", "site": "south", "transport": "udp", "record": false,
		"retention_days": 30, "analytics": map[string]any{"motion": false},
	}, asRoot()).must(t, 200)
	var c cameraJSON
	r.json(t, &c)
	if c.Name != "Main gate" || c.Site != "south" || c.Transport != "udp" || c.Record || c.RetentionDays != 30 || string(c.Analytics) != `{"motion":false}` {
		t.Fatalf("patched = %s", r.body)
	}
	r = e.do(t, "PATCH", "/api/v1/cameras/gate-1", `{"analytics": null, "transport": "auto", "site": ""}`, asRoot()).must(t, 200)
	r.json(t, &c)
	if string(c.Analytics) != "{}" || c.Transport != "auto" || c.Site != "" {
		t.Fatalf("reset = %s", r.body)
	}
	e.rt.mu.Lock()
	n := len(e.rt.changed)
	e.rt.mu.Unlock()
	e.do(t, "PATCH", "/api/v1/cameras/gate-1", map[string]any{"name": "Main gate"}, asRoot()).must(t, 200)
	e.rt.mu.Lock()
	defer e.rt.mu.Unlock()
	if len(e.rt.changed) != n {
		t.Fatal("a no-op patch restarted the camera")
	}
}

func TestCamerasAPIErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addCamera(t, "gate-1", "north", "")
	tests := []struct {
		name         string
		method, path string
		body         any
		c            cred
		want         int
	}{
		{"operator create", "POST", "/api/v1/cameras", map[string]any{"id": "x"}, asOpAll(), 403},
		{"viewer patch", "PATCH", "/api/v1/cameras/gate-1", map[string]any{"name": "x"}, asView(), 403},
		{"operator delete", "DELETE", "/api/v1/cameras/gate-1", nil, asOp(), 403},
		{"auditor list", "GET", "/api/v1/cameras", nil, asAud(), 403},
		{"auditor get", "GET", "/api/v1/cameras/gate-1", nil, asAud(), 403},
		{"duplicate", "POST", "/api/v1/cameras", map[string]any{"id": "gate-1"}, asRoot(), 409},
		{"no id", "POST", "/api/v1/cameras", map[string]any{"name": "x"}, asRoot(), 400},
		{"traversal id", "POST", "/api/v1/cameras", map[string]any{"id": "../../etc/passwd"}, asRoot(), 400},
		{"sql id", "POST", "/api/v1/cameras", map[string]any{"id": "a'); DROP TABLE cameras;--"}, asRoot(), 400},
		{"http source", "POST", "/api/v1/cameras", map[string]any{"id": "x", "source": "http://10.0.0.1/"}, asRoot(), 400},
		{"file source", "POST", "/api/v1/cameras", map[string]any{"id": "x", "source": "file:///etc/passwd"}, asRoot(), 400},
		{"hostless source", "POST", "/api/v1/cameras", map[string]any{"id": "x", "source": "rtsp:///stream"}, asRoot(), 400},
		{"garbage source", "POST", "/api/v1/cameras", map[string]any{"id": "x", "source": "rtsp://[::1"}, asRoot(), 400},
		{"bad transport", "POST", "/api/v1/cameras", map[string]any{"id": "x", "transport": "carrier-pigeon"}, asRoot(), 400},
		{"negative retention", "POST", "/api/v1/cameras", map[string]any{"id": "x", "retention_days": -1}, asRoot(), 400},
		{"huge retention", "POST", "/api/v1/cameras", map[string]any{"id": "x", "retention_days": 100000}, asRoot(), 400},
		{"analytics array", "POST", "/api/v1/cameras", map[string]any{"id": "x", "analytics": []int{1}}, asRoot(), 400},
		{"analytics string", "POST", "/api/v1/cameras", map[string]any{"id": "x", "analytics": "on"}, asRoot(), 400},
		{"unknown site", "POST", "/api/v1/cameras", map[string]any{"id": "x", "site": "mars"}, asRoot(), 400},
		{"bad site", "POST", "/api/v1/cameras", map[string]any{"id": "x", "site": "Mars!"}, asRoot(), 400},
		{"unknown field", "POST", "/api/v1/cameras", map[string]any{"id": "x", "password": "p"}, asRoot(), 400},
		{"status not settable", "PATCH", "/api/v1/cameras/gate-1", map[string]any{"status": map[string]any{}}, asRoot(), 400},
		{"id change", "PATCH", "/api/v1/cameras/gate-1", map[string]any{"id": "gate-2"}, asRoot(), 400},
		{"empty name", "PATCH", "/api/v1/cameras/gate-1", map[string]any{"name": ""}, asRoot(), 400},
		{"patch unknown site", "PATCH", "/api/v1/cameras/gate-1", map[string]any{"site": "mars"}, asRoot(), 400},
		{"patch bad source", "PATCH", "/api/v1/cameras/gate-1", map[string]any{"source": "ftp://x/"}, asRoot(), 400},
		{"patch missing", "PATCH", "/api/v1/cameras/ghost", map[string]any{"name": "x"}, asRoot(), 404},
		{"get bad id", "GET", "/api/v1/cameras/..%2F..%2Fetc%2Fpasswd", nil, asRoot(), 400},
		{"get sql id", "GET", "/api/v1/cameras/x'%20OR%201=1--", nil, asRoot(), 400},
		{"list bad site", "GET", "/api/v1/cameras?site=../x", nil, asRoot(), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(t, tt.method, tt.path, tt.body, tt.c).must(t, tt.want).errCode(t)
		})
	}
}

func TestCameraScoping(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addCamera(t, "n1", "north", "")
	e.addCamera(t, "s1", "south", "")
	e.addCamera(t, "nosite", "", "")
	for _, c := range []struct {
		name  string
		cred  cred
		count int
	}{{"scoped viewer", asView(), 1}, {"scoped operator", asOp(), 1}, {"unscoped operator", asOpAll(), 3}, {"admin", asRoot(), 3}} {
		r := e.do(t, "GET", "/api/v1/cameras", nil, c.cred).must(t, 200)
		var list struct{ Cameras []cameraJSON }
		r.json(t, &list)
		if len(list.Cameras) != c.count {
			t.Errorf("%s sees %d cameras: %s", c.name, len(list.Cameras), r.body)
		}
	}
	e.do(t, "GET", "/api/v1/cameras/n1", nil, asView()).must(t, 200)
	missing := e.do(t, "GET", "/api/v1/cameras/ghost", nil, asView()).must(t, 404)
	for _, id := range []string{"s1", "nosite"} {
		hidden := e.do(t, "GET", "/api/v1/cameras/"+id, nil, asView()).must(t, 404)
		if string(hidden.body) != string(missing.body) {
			t.Errorf("%s: %s differs from a missing camera's %s", id, hidden.body, missing.body)
		}
		e.do(t, "GET", "/api/v1/cameras/"+id+"/recordings", nil, asOp()).must(t, http.StatusNotFound)
	}
}

func TestCameraStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addCamera(t, "gate-1", "north", "rtsp://admin:hunter22@10.0.0.5/s")
	e.rt.setStatus("gate-1", CameraStatus{State: StateOnline, FPS: 25, Bitrate: 2e6,
		LastFrame: testNow().Add(-time.Millisecond), Error: ""})
	r := e.do(t, "GET", "/api/v1/cameras/gate-1", nil, asView()).must(t, 200)
	var raw struct{ Status map[string]any }
	r.json(t, &raw)
	st := raw.Status
	if st["state"] != "online" || st["fps"] != 25.0 || st["bitrate"] != 2e6 || st["last_frame"] != "2025-06-01T11:59:59.999Z" {
		t.Fatalf("status = %v", st)
	}
	if _, ok := st["error"]; ok {
		t.Fatal("empty error not omitted")
	}
	e.rt.setStatus("gate-1", CameraStatus{State: StateOffline})
	r = e.do(t, "GET", "/api/v1/cameras/gate-1", nil, asView()).must(t, 200)
	raw.Status = nil
	r.json(t, &raw)
	if _, ok := raw.Status["last_frame"]; ok {
		t.Fatal("zero last_frame not omitted")
	}
}
