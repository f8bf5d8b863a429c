// Package oidc signs users in to Vigil through an OpenID Connect identity
// provider (single sign-on).
//
// The flow is the authorization code flow with PKCE (S256), a state and a
// nonce. GET /api/v1/oidc/login keeps the state, nonce and PKCE verifier
// in a short-lived server-side entry (keyed by the state's hash) and puts
// the state in an HttpOnly, SameSite=Lax cookie scoped to /api/v1/oidc/,
// then redirects to the provider. GET /api/v1/oidc/callback accepts the
// answer only from the browser that started the login (cookie equals the
// state) and only once (the entry is consumed), exchanges the code with
// the verifier, verifies the ID token (signature, issuer, audience,
// expiry; go-oidc) and its nonce, maps the user's groups to a role and
// sites, creates or updates the user (auth.Service.LoginExternal: no
// password, so password login is impossible) and sets the same session
// cookie a password login sets.
//
// Group mapping: every group of the user that appears in Config.Groups
// contributes its role and sites. The highest role wins (admin > operator
// > viewer > auditor); the sites of the groups that grant that role are
// united, and a group of that role with no sites grants every site. A user
// is admin only when one of its groups maps to admin. A user none of whose
// groups is mapped is refused (403).
//
// The provider is discovered lazily on the first login (and again after a
// failure), so a hub starts while its provider is unreachable. Nothing in
// this package logs a code, a token or a state.
package oidc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/auth"
)

// Paths served by Service.Handler.
const (
	// Prefix is the path prefix to mount Handler on.
	Prefix = "/api/v1/oidc/"
	// LoginPath starts a login.
	LoginPath = "/api/v1/oidc/login"
	// CallbackPath is where the provider sends the browser back; the
	// redirect URL registered at the provider ends with it.
	CallbackPath = "/api/v1/oidc/callback"
	// StateCookie carries the state of a login in progress.
	StateCookie = "vigil_oidc_state"
)

// GroupRole is what one provider group grants.
type GroupRole struct {
	// Role is the Vigil role of the group's members.
	Role auth.Role
	// Sites limits the role to these sites; empty means every site.
	// An admin group must have none.
	Sites []string
}

// Config configures single sign-on.
type Config struct {
	// Issuer is the provider's issuer URL (discovery document at
	// Issuer + "/.well-known/openid-configuration"). Required.
	Issuer string
	// ClientID is Vigil's client id at the provider. Required.
	ClientID string
	// ClientSecret is the client secret; empty for a public client (PKCE
	// alone).
	ClientSecret string
	// RedirectURL is the callback URL registered at the provider, e.g.
	// https://hub.example/api/v1/oidc/callback. Required.
	RedirectURL string
	// Scopes requested. It defaults to openid, profile, email, groups;
	// openid is always added.
	Scopes []string
	// GroupsClaim names the claim listing the user's groups. It defaults
	// to "groups".
	GroupsClaim string
	// UsernameClaim names the claim giving the Vigil user name. It
	// defaults to "preferred_username"; when that claim is absent, "email"
	// and then "sub" are used. The name is lowercased, "@" becomes "_at_",
	// and it must then be a valid Vigil user name.
	UsernameClaim string
	// Groups maps a provider group to a role and sites. Required.
	Groups map[string]GroupRole
	// AfterLogin is where the browser goes after a successful login. It
	// defaults to "/".
	AfterLogin string
	// StateTTL is how long a started login may take. It defaults to 10
	// minutes.
	StateTTL time.Duration
	// MaxPending caps the logins in progress. It defaults to 10000.
	MaxPending int
	// SecureCookies marks cookies Secure even on plain HTTP (behind a TLS
	// proxy). Under TLS they are always Secure.
	SecureCookies bool
}

func (c Config) withDefaults() Config {
	if len(c.Scopes) == 0 {
		c.Scopes = []string{gooidc.ScopeOpenID, "profile", "email", "groups"}
	}
	if !slices.Contains(c.Scopes, gooidc.ScopeOpenID) {
		c.Scopes = append([]string{gooidc.ScopeOpenID}, c.Scopes...)
	}
	if c.GroupsClaim == "" {
		c.GroupsClaim = "groups"
	}
	if c.UsernameClaim == "" {
		c.UsernameClaim = "preferred_username"
	}
	if c.AfterLogin == "" {
		c.AfterLogin = "/"
	}
	if c.StateTTL <= 0 {
		c.StateTTL = 10 * time.Minute
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 10000
	}
	return c
}

// Authenticator creates Vigil sessions; *auth.Service implements it.
type Authenticator interface {
	LoginExternal(ctx context.Context, u auth.ExternalUser) (auth.Principal, auth.NewSession, error)
}

// Auditor records sign-ins in the audit trail; *audit.Log implements it.
type Auditor interface {
	Record(ctx context.Context, e audit.Entry) error
}

// Deps are what a Service uses.
type Deps struct {
	// Auth is required.
	Auth Authenticator
	// Audit, when set, gets a login record (Detail via=oidc) for each
	// sign-in and a login_failed record (with the status and, when known,
	// the provider's user name) for each refused callback.
	Audit Auditor
	// HTTPClient talks to the provider. It defaults to a client with a
	// 15 s timeout.
	HTTPClient *http.Client
	// Logger defaults to discarding; the caller adds component=oidc.
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Service serves the login and callback endpoints. It is safe for
// concurrent use.
type Service struct {
	cfg     Config
	auth    Authenticator
	audit   Auditor
	client  *http.Client
	log     *slog.Logger
	now     func() time.Time
	pending *pendingLogins

	mu       sync.Mutex
	provider *gooidc.Provider
}

// New checks cfg and returns a Service. It does no I/O: the provider is
// discovered on the first login.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if deps.Auth == nil {
		return nil, errors.New("oidc: auth is required")
	}
	if deps.HTTPClient == nil {
		deps.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Service{
		cfg: cfg, auth: deps.Auth, audit: deps.Audit, client: deps.HTTPClient, log: deps.Logger, now: deps.Now,
		pending: newPendingLogins(cfg.MaxPending, cfg.StateTTL),
	}, nil
}

// Handler serves GET LoginPath and GET CallbackPath; mount it on Prefix.
// It needs no authentication.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+LoginPath, s.login)
	mux.HandleFunc("GET "+CallbackPath, s.callback)
	mux.HandleFunc(Prefix, func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not found")
	})
	return mux
}

// discover returns the provider, fetching its discovery document once.
func (s *Service) discover(ctx context.Context) (*gooidc.Provider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider != nil {
		return s.provider, nil
	}
	p, err := gooidc.NewProvider(s.clientContext(ctx), s.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover provider %s: %w", s.cfg.Issuer, err)
	}
	s.provider = p
	return p, nil
}

func (s *Service) clientContext(ctx context.Context) context.Context {
	ctx = gooidc.ClientContext(ctx, s.client)
	return context.WithValue(ctx, oauth2.HTTPClient, s.client)
}

// record queues an audit entry; a failure is logged, never shown.
func (s *Service) record(r *http.Request, e audit.Entry) {
	if s.audit == nil {
		return
	}
	e.Remote = api.RemoteIP(r)
	if err := s.audit.Record(context.WithoutCancel(r.Context()), e); err != nil {
		s.log.Error("audit entry not recorded", "action", e.Action, "user", e.User, "err", err)
	}
}

func (s *Service) oauth(p *gooidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     s.cfg.ClientID,
		ClientSecret: s.cfg.ClientSecret,
		RedirectURL:  s.cfg.RedirectURL,
		Endpoint:     p.Endpoint(),
		Scopes:       s.cfg.Scopes,
	}
}
