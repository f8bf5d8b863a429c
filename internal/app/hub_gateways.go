package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/vigil-video/vigil/internal/gateways"
	"github.com/vigil-video/vigil/internal/ingest"
)

// buildGateways creates the gateway registry in the hub's index database
// (call it after buildAccountability: changes go to the audit trail);
// enrolling gateways pin the hub's certificate (its SHA-256) when the hub
// serves TLS.
func (h *hub) buildGateways() (*gateways.Registry, error) {
	deps := gateways.Deps{DB: h.idx.DB(), Sites: h.idx, HubCertSHA256: h.certSHA256, Logger: h.log}
	if h.audit != nil { // a nil *audit.Log must not become a non-nil Auditor
		deps.Audit = h.audit
	}
	reg, err := gateways.New(gateways.Config{}, deps)
	if err != nil {
		return nil, fmt.Errorf("gateway registry: %w", err)
	}
	return reg, nil
}

// certSHA256 is the hex SHA-256 of the hub's TLS certificate (DER), "" without TLS.
func (h *hub) certSHA256() string {
	if h.tls == nil || h.tls.Certificate.Leaf == nil {
		return ""
	}
	sum := sha256.Sum256(h.tls.Certificate.Leaf.Raw)
	return hex.EncodeToString(sum[:])
}

// withGatewayEnroll serves gateways.EnrollPath (no user login: the one-time
// token is the credential) and hands every other request to next.
func withGatewayEnroll(reg *gateways.Registry, next http.Handler) http.Handler {
	enroll := reg.Enroll()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == gateways.EnrollPath {
			enroll.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// gatewayPublish decides an RTSP request made with a gateway credential as
// the password: handled is false when pass is no gateway credential (the
// user path decides, with its cache). A gateway may only publish, and only
// cameras of its own site; the registry is asked every time (no cache), so
// a revoked gateway is refused at once.
func gatewayPublish(reg *gateways.Registry, siteOf func(camera string) (string, bool),
	pass, cameraID string, action ingest.Action) (handled, ok bool) {
	if !gateways.IsCredential(pass) {
		return false, false
	}
	site, known := siteOf(cameraID)
	if !known || action != ingest.ActionPublish {
		return true, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, ok = reg.AuthorizePublish(ctx, pass, site)
	return true, ok
}
