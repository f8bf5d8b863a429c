package api

import (
	"io"
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
)

// healthz serves GET /healthz: the process answers.
func (a *API) healthz(w http.ResponseWriter, _ *http.Request, _ auth.Principal) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
	return nil
}
