package api

import (
	"net/http"
	"time"

	"github.com/vigil-video/vigil/internal/auth"
)

type createTokenRequest struct {
	Name string `json:"name"`
	// ExpiresIn is a Go duration such as "720h"; empty: never expires.
	ExpiresIn string `json:"expires_in,omitempty"`
}

// createToken serves POST /api/v1/tokens: a bearer token for the caller,
// whose secret is in this answer only. 201.
func (a *API) createToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req createTokenRequest
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	var ttl time.Duration
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			return badRequest("expires_in: want a positive duration such as 720h")
		}
		ttl = d
	}
	nt, err := a.auth.CreateToken(r.Context(), p.Username, req.Name, ttl)
	if err != nil {
		return err
	}
	out := toTokenJSON(nt.Token)
	out.Token = nt.Secret
	writeJSON(w, http.StatusCreated, out)
	return nil
}
