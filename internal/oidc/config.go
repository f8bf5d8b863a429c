package oidc

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/vigil-video/vigil/internal/auth"
)

// validate reports every problem of a defaulted Config at once.
func (c Config) validate() error {
	var errs []error
	if u, err := url.Parse(c.Issuer); c.Issuer == "" || err != nil || u.Host == "" ||
		(u.Scheme != "https" && u.Scheme != "http") {
		errs = append(errs, errors.New("issuer: must be an http(s) URL"))
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("client_id: required"))
	}
	if u, err := url.Parse(c.RedirectURL); c.RedirectURL == "" || err != nil || u.Host == "" {
		errs = append(errs, errors.New("redirect_url: must be an absolute URL"))
	}
	if len(c.Groups) == 0 {
		errs = append(errs, errors.New("groups: at least one group must map to a role"))
	}
	for g, gr := range c.Groups {
		if !gr.Role.Valid() {
			errs = append(errs, fmt.Errorf("groups[%q]: role must be admin, operator, viewer or auditor", g))
		}
		if gr.Role == auth.RoleAdmin && len(gr.Sites) > 0 {
			errs = append(errs, fmt.Errorf("groups[%q]: an admin is never limited to sites", g))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("oidc config: %w", err)
	}
	return nil
}
