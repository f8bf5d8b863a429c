package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/vigil-video/vigil/internal/gateways"
	"github.com/vigil-video/vigil/internal/ingest"
)

// buildGateways creates the gateway registry in the hub's index database;
// enrolling gateways pin the hub's certificate (its SHA-256) when the hub
// serves TLS.
func (h *hub) buildGateways() (*gateways.Registry, error) {
	return gateways.New(gateways.Config{}, gateways.Deps{
		DB: h.idx.DB(), Sites: h.idx, HubCertSHA256: h.certSHA256,
		Logger: h.log,
	})
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
// user path decides). A gateway may only publish, and only cameras of its
// own site. The registry is asked every time (no cache), so a revoked
// gateway is refused at once.
func gatewayPublish(reg *gateways.Registry, siteOf func(camera string) (string, bool),
	pass, cameraID string, action ingest.Action) (handled, ok bool) {
	if !gateways.IsCredential(pass) {
		return false, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, gwSite, valid := reg.AuthenticateGateway(ctx, pass)
	if !valid || action != ingest.ActionPublish {
		return true, false
	}
	site, known := siteOf(cameraID)
	return true, known && site == gwSite
}
