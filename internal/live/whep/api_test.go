package whep

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/api/apitest"
	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/stream"
)

// TestWHEPThroughAPI mounts the routes on the real API: credentials,
// permission and site scoping apply to WHEP like to any camera route.
func TestWHEPThroughAPI(t *testing.T) {
	cam := newCamera(t, false)
	cam.st.Publish(cam.tracks)
	far := stream.New("far", stream.Options{})
	far.Publish(cam.tracks)
	e := newEnv(t, Config{ConnectTimeout: 10 * time.Second}, map[string]*stream.Stream{"cam": cam.st, "far": far})
	fa := &fakeAudit{}
	e.srv.audit = fa
	hs := apitest.New(t, apitest.Options{
		Sites: []index.Site{{ID: "north", Name: "north"}, {ID: "south", Name: "south"}},
		Cameras: []index.Camera{{ID: "cam", Name: "cam", Site: "north"}, {ID: "cam2", Name: "cam2", Site: "north"},
			{ID: "far", Name: "far", Site: "south"}},
		Users: []auth.NewUser{
			{Username: "view", Password: "view-password-1", Role: auth.RoleViewer, Sites: []string{"north"}},
			{Username: "view2", Password: "view2-password-1", Role: auth.RoleViewer, Sites: []string{"north"}},
			{Username: "aud", Password: "aud-password-1", Role: auth.RoleAuditor},
		},
		Routes: e.srv.Routes(),
	}).Server

	send := func(method, path, user, pw, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/sdp")
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	offer := validOffer(t)
	cases := []struct {
		name, path, user, pw string
		status               int
	}{
		{"no credentials", "/api/v1/cameras/cam/whep", "", "", http.StatusUnauthorized},
		{"auditor sees no video", "/api/v1/cameras/cam/whep", "aud", "aud-password-1", http.StatusForbidden},
		{"camera outside the viewer's sites", "/api/v1/cameras/far/whep", "view", "view-password-1", http.StatusNotFound},
		{"unknown camera", "/api/v1/cameras/nope/whep", "view", "view-password-1", http.StatusNotFound},
		{"viewer in its site", "/api/v1/cameras/cam/whep", "view", "view-password-1", http.StatusCreated},
	}
	var location string
	for _, c := range cases {
		resp := send(http.MethodPost, c.path, c.user, c.pw, offer)
		if resp.StatusCode != c.status {
			t.Fatalf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
		}
		if resp.StatusCode == http.StatusCreated {
			location = resp.Header.Get("Location")
		}
	}
	if e.srv.Sessions() != 1 || e.streams.acquired.Load() != 1 {
		t.Fatalf("sessions %d, streams acquired %d; want 1, 1", e.srv.Sessions(), e.streams.acquired.Load())
	}
	for _, other := range []string{"/far/", "/cam2/"} { // out of scope; in scope but not the session's camera
		path := strings.Replace(location, "/cam/", other, 1)
		if resp := send(http.MethodDelete, path, "view", "view-password-1", ""); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("DELETE through %s: %d, want 404", other, resp.StatusCode)
		}
	}
	if resp := send(http.MethodDelete, location, "view2", "view2-password-1", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("DELETE by another viewer of the camera: %d, want 404", resp.StatusCode)
	}
	if resp := send(http.MethodDelete, location, "aud", "aud-password-1", ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("DELETE by the auditor: %d, want 403", resp.StatusCode)
	}
	if resp := send(http.MethodDelete, location, "view", "view-password-1", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	if e.srv.Sessions() != 0 || e.streams.released.Load() != 1 {
		t.Fatalf("after DELETE: sessions %d, released %d", e.srv.Sessions(), e.streams.released.Load())
	}
	if got := fa.entries(); len(got) != 0 {
		t.Fatalf("the server recorded %+v after a DELETE (the API records that live_stop)", got)
	}
}
