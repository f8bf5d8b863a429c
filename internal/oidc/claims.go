package oidc

import (
	"context"
	"errors"
	"net/http"
	"strings"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/vigil-video/vigil/internal/auth"
)

// needUserInfo reports whether the ID token lacks the groups or the
// configured username claim, which some providers only put in UserInfo.
func (s *Service) needUserInfo(claims map[string]any) bool {
	_, hasGroups := claims[s.cfg.GroupsClaim]
	_, hasName := claims[s.cfg.UsernameClaim]
	return !hasGroups || !hasName
}

// addUserInfo fills claims missing from the ID token from the UserInfo
// endpoint, when the provider has one and answers for the same subject.
// Failures only leave the claims as they were.
func (s *Service) addUserInfo(ctx context.Context, p *gooidc.Provider, tok *oauth2.Token, sub string, claims map[string]any) {
	if p.UserInfoEndpoint() == "" {
		return
	}
	ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		s.log.Warn("oidc userinfo failed", "err", err)
		return
	}
	if ui.Subject != sub {
		s.log.Warn("oidc userinfo subject differs from the ID token's; ignored")
		return
	}
	extra := map[string]any{}
	if err := ui.Claims(&extra); err != nil {
		return
	}
	for k, v := range extra {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
}

// identityOf reads the user name and groups from the claims.
func (s *Service) identityOf(sub string, claims map[string]any) (identity, error) {
	name := ""
	for _, c := range []string{s.cfg.UsernameClaim, "email", "sub"} {
		if v, ok := claims[c].(string); ok && v != "" {
			name = v
			break
		}
	}
	name = normalizeUsername(name)
	if !auth.ValidUsername(name) {
		return identity{}, refuse(http.StatusForbidden, "the identity provider's user name is not a valid Vigil user name",
			errors.New("invalid user name from claims"))
	}
	return identity{subject: sub, username: name, groups: groupsOf(claims[s.cfg.GroupsClaim])}, nil
}

// normalizeUsername lowercases a provider's user name and spells "@" as
// "_at_", so that e-mail addresses become valid Vigil user names.
func normalizeUsername(s string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "@", "_at_")
}

// groupsOf reads a groups claim: a JSON array of strings or one string.
// Anything else is no group.
func groupsOf(v any) []string {
	switch g := v.(type) {
	case string:
		return []string{g}
	case []any:
		out := make([]string, 0, len(g))
		for _, x := range g {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
