package auth

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Config tunes a Service. The zero value is usable.
type Config struct {
	// SessionTTL is how long a login session lasts. It defaults to 24h.
	SessionTTL time.Duration
	// LoginBurst is how many failed logins in a row one username from one
	// address may make before being refused. It defaults to 5.
	LoginBurst int
	// LoginWindow is how long the whole burst takes to refill. It
	// defaults to 1 minute (so 5 failures per minute).
	LoginWindow time.Duration
	// AccountBurst is how many failed logins in a row one username may
	// make from all addresses together before the account is locked out;
	// AccountWindow is how long the whole burst takes to refill (the
	// lockout ends on its own: 20 failures lock for 15 minutes by
	// default, so a password sprayed from many addresses still stalls).
	AccountBurst  int
	AccountWindow time.Duration
	// MaxTrackedLogins caps the rate limiter's memory (distinct
	// username+address pairs). It defaults to 100000.
	MaxTrackedLogins int
	// PruneInterval is how often Run deletes expired sessions and tokens.
	// It defaults to 10 minutes.
	PruneInterval time.Duration
	// Hash tunes password hashing for new hashes; zero fields take the
	// defaults documented on Argon2Params.
	Hash Argon2Params
}

func (c Config) withDefaults() Config {
	if c.SessionTTL <= 0 {
		c.SessionTTL = 24 * time.Hour
	}
	if c.LoginBurst <= 0 {
		c.LoginBurst = 5
	}
	if c.LoginWindow <= 0 {
		c.LoginWindow = time.Minute
	}
	if c.AccountBurst <= 0 {
		c.AccountBurst = 20
	}
	if c.AccountWindow <= 0 {
		c.AccountWindow = 15 * time.Minute
	}
	if c.MaxTrackedLogins <= 0 {
		c.MaxTrackedLogins = 100000
	}
	if c.PruneInterval <= 0 {
		c.PruneInterval = 10 * time.Minute
	}
	c.Hash = c.Hash.withDefaults()
	return c
}

// Deps are what a Service uses.
type Deps struct {
	// Store is required.
	Store Store
	// Logger defaults to discarding. The caller adds identity attributes
	// (component=auth).
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Service authenticates callers and manages users, sessions and tokens.
// It is safe for concurrent use.
type Service struct {
	cfg      Config
	store    Store
	log      *slog.Logger
	now      func() time.Time
	limiter  *limiter // failed logins per username+address
	accounts *limiter // failed logins per username, from every address
	// dummyHash is verified against when a user does not exist, so a
	// login takes as long for unknown users as for known ones.
	dummyHash string
	// usersMu serialises user changes, so two concurrent changes cannot
	// together remove the last admin.
	usersMu sync.Mutex
}

// New returns a Service. It starts nothing; Run prunes expired rows.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Store == nil {
		return nil, errors.New("auth: store is required")
	}
	cfg = cfg.withDefaults()
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	dummy, err := HashPassword(cfg.Hash, "vigil-dummy-password")
	if err != nil {
		return nil, err
	}
	return &Service{
		cfg:       cfg,
		store:     deps.Store,
		log:       deps.Logger,
		now:       deps.Now,
		limiter:   newLimiter(cfg.LoginBurst, cfg.LoginWindow, cfg.MaxTrackedLogins, deps.Now),
		accounts:  newLimiter(cfg.AccountBurst, cfg.AccountWindow, cfg.MaxTrackedLogins, deps.Now),
		dummyHash: dummy,
	}, nil
}

// Run deletes expired sessions and tokens and forgets refilled rate-limit
// buckets every PruneInterval, until ctx ends. It returns nil then.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.PruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.Prune(ctx)
		}
	}
}

// Prune deletes expired sessions and tokens and forgets refilled
// rate-limit buckets once.
func (s *Service) Prune(ctx context.Context) {
	s.limiter.prune()
	if err := s.store.DeleteExpired(ctx, s.now()); err != nil && ctx.Err() == nil {
		s.log.Warn("prune expired sessions", "err", err)
	}
}

// SessionTTL returns how long new sessions last.
func (s *Service) SessionTTL() time.Duration { return s.cfg.SessionTTL }

func principalOf(u User, via Method) Principal {
	return Principal{Username: u.Username, Role: u.Role, Sites: u.Sites, Via: via}
}
