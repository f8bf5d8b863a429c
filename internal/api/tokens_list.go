package api

import (
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
)

// listTokens serves GET /api/v1/tokens: the caller's own tokens, without
// their secrets.
func (a *API) listTokens(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	toks, err := a.auth.ListTokens(r.Context(), p.Username)
	if err != nil {
		return err
	}
	out := make([]tokenJSON, 0, len(toks))
	for _, t := range toks {
		out = append(out, toTokenJSON(t))
	}
	writeJSON(w, http.StatusOK, listBody("tokens", out, ""))
	return nil
}
