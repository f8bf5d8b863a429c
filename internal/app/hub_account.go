package app

import (
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/config"
	"github.com/vigil-video/vigil/internal/keys"
	"github.com/vigil-video/vigil/internal/oidc"
)

// buildAccountability loads the hub's Ed25519 key (it signs exports and the
// audit chain's heads; DATA_DIR/keys) and opens the audit trail.
func (h *hub) buildAccountability() error {
	k, err := keys.LoadOrCreate(filepath.Join(h.dir.root, "keys"))
	if err != nil {
		return fmt.Errorf("hub key: %w", err)
	}
	h.keys = k
	h.audit, err = audit.New(h.idx.DB(), k, h.log.With("component", "audit"))
	if err != nil {
		return fmt.Errorf("open audit trail: %w", err)
	}
	return nil // h.audit runs in Run's back group: it outlives every request
}

// buildSSO returns the OpenID Connect login handler, or nil when the
// config has no oidc section.
func (h *hub) buildSSO() (http.Handler, error) {
	oc := h.cfg.OIDC
	if oc == nil {
		return nil, nil
	}
	svc, err := oidc.New(oidcConfig(*oc), oidc.Deps{Auth: h.auth, Audit: h.audit, Logger: h.log.With("component", "oidc")})
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	return svc.Handler(), nil
}

func oidcConfig(c config.OIDC) oidc.Config {
	out := oidc.Config{
		Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: c.RedirectURL,
		Scopes: c.Scopes, GroupsClaim: c.GroupsClaim, UsernameClaim: c.UsernameClaim,
		Groups: map[string]oidc.GroupRole{},
	}
	for g, r := range c.Groups {
		out.Groups[g] = oidc.GroupRole{Role: auth.Role(r.Role), Sites: r.Sites}
	}
	return out
}
