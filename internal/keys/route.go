package keys

import (
	"fmt"
	"net/http"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/auth"
)

// PublicKeyPath is the API path of the hub's public key.
const PublicKeyPath = "/api/v1/keys/export.pem"

// Routes returns the API routes of the hub key (api.Deps.Routes):
// GET /api/v1/keys/export.pem answers the public key as PEM to any
// principal whose role grants export (who receives signed files) or audit
// (who checks them); others get 403.
func Routes(h *Hub) []api.Route {
	return []api.Route{{Method: "GET", Path: PublicKeyPath, Handler: h.servePublic}}
}

// servePublic answers GET /api/v1/keys/export.pem.
func (h *Hub) servePublic(w http.ResponseWriter, _ *http.Request, req api.Request) {
	p := req.Principal
	if !p.Can(auth.PermExport) && !p.Can(auth.PermAudit) {
		api.WriteError(w, http.StatusForbidden, fmt.Sprintf("your role (%s) does not allow this", p.Role))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/x-pem-file")
	hd.Set("Content-Disposition", `attachment; filename="vigil-export-key.pem"`)
	hd.Set("Cache-Control", "no-cache")
	_, _ = w.Write(h.pubPEM)
}
