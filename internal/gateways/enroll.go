package gateways

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/auth"
)

// EnrollPath is where the lead mounts Enroll, in front of the API (it
// takes no user login: the token is the credential).
const EnrollPath = "/api/v1/gateways/enroll"

type enrollRequest struct {
	Token string `json:"token"`
}

type enrollAnswer struct {
	Gateway       string `json:"gateway"`
	Site          string `json:"site"`
	Credential    string `json:"credential"`
	HubCertSHA256 string `json:"hub_cert_sha256"`
}

// Enroll serves POST /api/v1/gateways/enroll {"token": "vge_..."}: 200
// {"gateway", "site", "credential", "hub_cert_sha256"} once per token; 401
// for an unknown, used, expired or revoked token; 429 (with Retry-After)
// after too many failures from one address; 405 for other methods.
func (r *Registry) Enroll() http.Handler {
	return http.HandlerFunc(r.serveEnroll)
}

func (r *Registry) serveEnroll(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		api.WriteError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	ip := api.RemoteIP(req)
	if ok, wait := r.limiter.allow(ip); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())))
		api.WriteError(w, http.StatusTooManyRequests, "too many failed enrolments; retry later")
		return
	}
	var body enrollRequest
	if !decodeBody(w, req, &body) {
		r.limiter.fail(ip)
		return
	}
	e, err := r.EnrollToken(req.Context(), body.Token)
	if errors.Is(err, ErrBadToken) {
		r.limiter.fail(ip)
		r.log.Warn("gateway enrolment refused", "remote", ip)
		api.WriteError(w, http.StatusUnauthorized, "invalid, used or expired enrolment token")
		return
	}
	if err != nil {
		r.internal(w, "enroll gateway", err)
		return
	}
	r.record(req, auth.Principal{Username: "gateway:" + e.Gateway}, e.Gateway, e.Site,
		map[string]any{"enrolled": true})
	writeJSON(w, http.StatusOK, enrollAnswer{Gateway: e.Gateway, Site: e.Site,
		Credential: e.Credential, HubCertSHA256: e.HubCertSHA256})
}
