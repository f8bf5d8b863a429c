package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/gateways"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/index/sqlite"
	"github.com/vigil-video/vigil/internal/ingest"
	"github.com/vigil-video/vigil/internal/testutil"
)

// TestGatewayWiring: the front handler serves enrolment without a login
// and passes everything else on; the RTSP decision lets an enrolled gateway
// publish only its own site's cameras, never read, and nothing once revoked.
func TestGatewayWiring(t *testing.T) {
	ctx := testutil.Context(t, 30*time.Second)
	idx, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idx.Close() })
	for _, s := range []string{"north", "south"} {
		if _, err := idx.CreateSite(ctx, index.Site{ID: s, Name: s}); err != nil {
			t.Fatal(err)
		}
	}
	reg, err := gateways.New(gateways.Config{}, gateways.Deps{DB: idx.DB(), Sites: idx})
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := reg.Create(ctx, "gw-n", "north")
	if err != nil {
		t.Fatal(err)
	}
	var nextCalled, uplinkCalled bool
	h := withGatewayEnroll(reg, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		uplinkCalled = true
		w.WriteHeader(http.StatusAccepted)
	}), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		nextCalled = true
		w.WriteHeader(http.StatusTeapot)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/gateways", nil))
	if !nextCalled || uplinkCalled || rec.Code != http.StatusTeapot {
		t.Fatalf("other path: next called %v, uplink %v, status %d", nextCalled, uplinkCalled, rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/uplink/config", nil))
	if !uplinkCalled || rec.Code != http.StatusAccepted {
		t.Fatalf("uplink path: uplink called %v, status %d", uplinkCalled, rec.Code)
	}
	body, _ := json.Marshal(map[string]string{"token": token})
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", gateways.EnrollPath, bytes.NewReader(body)))
	var en struct{ Credential string }
	if err := json.Unmarshal(rec.Body.Bytes(), &en); rec.Code != http.StatusOK || err != nil || en.Credential == "" {
		t.Fatalf("enrol through the front handler: %d %s", rec.Code, rec.Body)
	}

	siteOf := func(cam string) (string, bool) {
		s, ok := map[string]string{"cam-n": "north", "cam-s": "south"}[cam]
		return s, ok
	}
	tests := []struct {
		name, pass, cam  string
		action           ingest.Action
		handled, allowed bool
	}{
		{"own site publish", en.Credential, "cam-n", ingest.ActionPublish, true, true},
		{"other site publish", en.Credential, "cam-s", ingest.ActionPublish, true, false},
		{"unknown camera", en.Credential, "cam-x", ingest.ActionPublish, true, false},
		{"read", en.Credential, "cam-n", ingest.ActionRead, true, false},
		{"user password", "a-password", "cam-n", ingest.ActionPublish, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			handled, ok := gatewayPublish(reg, siteOf, tc.pass, tc.cam, tc.action)
			if handled != tc.handled || ok != tc.allowed {
				t.Fatalf("handled %v ok %v, want %v %v", handled, ok, tc.handled, tc.allowed)
			}
		})
	}
	if err := reg.Revoke(context.Background(), "gw-n"); err != nil {
		t.Fatal(err)
	}
	if handled, ok := gatewayPublish(reg, siteOf, en.Credential, "cam-n", ingest.ActionPublish); !handled || ok {
		t.Fatalf("revoked: handled %v ok %v", handled, ok)
	}
}
