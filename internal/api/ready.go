package api

import (
	"io"
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
)

// readyz serves GET /readyz: 200 when Deps.Ready says so, else 503.
func (a *API) readyz(w http.ResponseWriter, _ *http.Request, _ auth.Principal) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !a.ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "not ready\n")
		return nil
	}
	_, _ = io.WriteString(w, "ready\n")
	return nil
}
