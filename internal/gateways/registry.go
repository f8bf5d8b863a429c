// Package gateways is the hub's registry of site gateways: an admin creates
// a gateway for a site and gets a one-time enrolment token; the gateway
// trades the token for its long-lived credential (POST
// /api/v1/gateways/enroll); the hub checks that credential when the
// gateway pushes its cameras, and an admin can revoke it. Tokens and
// credentials are stored only as SHA-256 hashes.
package gateways

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// Errors the registry returns.
var (
	// ErrNotFound: no gateway with that id.
	ErrNotFound = errors.New("gateway not found")
	// ErrExists: a gateway with that id exists (revoked ones included).
	ErrExists = errors.New("gateway exists")
	// ErrUnknownSite: the gateway's site does not exist.
	ErrUnknownSite = errors.New("unknown site")
	// ErrInvalidID: the id is not a valid gateway id.
	ErrInvalidID = errors.New("invalid gateway id")
	// ErrBadToken: the enrolment token is unknown, used, expired or its
	// gateway revoked.
	ErrBadToken = errors.New("invalid or expired enrolment token")
)

// DefaultTokenTTL is how long an enrolment token stays usable by default.
const DefaultTokenTTL = 24 * time.Hour

// lastSeenEvery bounds how often AuthenticateGateway writes last_seen.
const lastSeenEvery = 30 * time.Second

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// reservedIDs cannot be gateway ids because they name routes.
var reservedIDs = map[string]bool{"enroll": true}

// ValidID reports whether s is an acceptable gateway id: 1 to 64 of a-z,
// 0-9, '_' and '-', starting with a letter or digit, and not "enroll".
func ValidID(s string) bool { return idRE.MatchString(s) && !reservedIDs[s] }

// Sites is what the registry needs of the index: whether a site exists.
type Sites interface {
	GetSite(ctx context.Context, id string) (index.Site, error) // index.ErrNotFound
}

// Config tunes the registry. The zero value is usable.
type Config struct {
	// TokenTTL is how long an enrolment token is valid. It defaults to
	// DefaultTokenTTL (24 h).
	TokenTTL time.Duration
	// EnrollBurst is how many failed enrolments one address may make in a
	// row before it must wait; it defaults to 10. They refill over
	// EnrollWindow, which defaults to 1 minute.
	EnrollBurst  int
	EnrollWindow time.Duration
	// ReportInterval is how often gateways report their status; it
	// defaults to 2 s. OfflineAfter is how long without a report makes a
	// gateway offline (and opens a site_offline event); it defaults to
	// 3 × ReportInterval, at least 10 s.
	ReportInterval time.Duration
	OfflineAfter   time.Duration
	// BacklogHigh is the age of a gateway's oldest unacknowledged fragment
	// that opens a backlog_high event (ended when the age falls under half
	// of it); it defaults to 5 minutes.
	BacklogHigh time.Duration
	// MaxUpload bounds one fragment upload request's body; it defaults to
	// 1 GiB. A gateway sends larger backlogs in several requests.
	MaxUpload int64
}

func (cfg *Config) setDefaults() {
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.EnrollBurst <= 0 {
		cfg.EnrollBurst = 10
	}
	if cfg.EnrollWindow <= 0 {
		cfg.EnrollWindow = time.Minute
	}
	if cfg.ReportInterval <= 0 {
		cfg.ReportInterval = 2 * time.Second
	}
	if cfg.OfflineAfter <= 0 {
		cfg.OfflineAfter = max(3*cfg.ReportInterval, 10*time.Second)
	}
	if cfg.BacklogHigh <= 0 {
		cfg.BacklogHigh = 5 * time.Minute
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = 1 << 30
	}
}

// Deps are the registry's collaborators.
type Deps struct {
	// DB is the hub's database (sqlite.Store.DB()); the registry creates
	// its table in it. Required.
	DB *sql.DB
	// Sites checks that a gateway's site exists. Required.
	Sites Sites
	// HubCertSHA256 returns the hex SHA-256 of the hub's TLS certificate
	// (DER), which the gateway pins at enrolment; nil or "" without TLS.
	HubCertSHA256 func() string
	// Audit, when set, records creation, enrolment and revocation of
	// gateways in the audit trail.
	Audit Auditor
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Gateway is a registry entry. It never holds a secret.
type Gateway struct {
	ID         string
	Site       string
	CreatedAt  time.Time
	EnrolledAt time.Time // zero until enrolled
	LastSeen   time.Time // zero until the credential was first used
	Revoked    bool
	// TokenExpires is when the enrolment token stops working (zero once
	// enrolled or revoked).
	TokenExpires time.Time
}

// Enrolled reports whether the gateway has traded its token for a credential.
func (g Gateway) Enrolled() bool { return !g.EnrolledAt.IsZero() }

// Registry is the gateway registry. It is safe for concurrent use.
type Registry struct {
	cfg     Config
	db      *sql.DB
	sites   Sites
	cert    func() string
	log     *slog.Logger
	now     func() time.Time
	limiter *limiter
	audit   Auditor
	// up is the uplink's state, set by Uplink.
	up atomic.Pointer[uplinkServer]
}

const schema = `
CREATE TABLE IF NOT EXISTS gateways (
	id            TEXT PRIMARY KEY,
	site          TEXT NOT NULL,
	token_hash    TEXT UNIQUE,
	token_expires INTEGER NOT NULL DEFAULT 0,
	cred_hash     TEXT UNIQUE,
	created_at    INTEGER NOT NULL,
	enrolled_at   INTEGER NOT NULL DEFAULT 0,
	last_seen     INTEGER NOT NULL DEFAULT 0,
	revoked_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS gateways_site ON gateways(site);
`

// New creates the gateways table if needed and returns the registry.
func New(cfg Config, deps Deps) (*Registry, error) {
	if deps.DB == nil || deps.Sites == nil {
		return nil, errors.New("gateways: DB and Sites are required")
	}
	cfg.setDefaults()
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.HubCertSHA256 == nil {
		deps.HubCertSHA256 = func() string { return "" }
	}
	for stmt := range strings.SplitSeq(schema, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := deps.DB.Exec(stmt); err != nil {
			return nil, fmt.Errorf("gateways schema: %w", err)
		}
	}
	return &Registry{
		cfg: cfg, db: deps.DB, sites: deps.Sites, cert: deps.HubCertSHA256,
		log: deps.Logger.With("component", "gateways"), now: deps.Now,
		limiter: newLimiter(cfg.EnrollBurst, cfg.EnrollWindow, 10000, deps.Now),
		audit:   deps.Audit,
	}, nil
}

// Create registers a gateway of site and returns it with its one-time
// enrolment token (the only time the token exists in clear).
func (r *Registry) Create(ctx context.Context, id, site string) (Gateway, string, error) {
	if !ValidID(id) {
		return Gateway{}, "", ErrInvalidID
	}
	if _, err := r.sites.GetSite(ctx, site); err != nil {
		if errors.Is(err, index.ErrNotFound) {
			return Gateway{}, "", ErrUnknownSite
		}
		return Gateway{}, "", fmt.Errorf("create gateway %s: get site: %w", id, err)
	}
	token, hash, err := newToken(r.cert())
	if err != nil {
		return Gateway{}, "", fmt.Errorf("create gateway %s: %w", id, err)
	}
	now := r.now()
	g := Gateway{ID: id, Site: site, CreatedAt: now, TokenExpires: now.Add(r.cfg.TokenTTL)}
	res, err := r.db.ExecContext(ctx,
		`INSERT INTO gateways (id, site, token_hash, token_expires, created_at) VALUES (?, ?, ?, ?, ?)
		 ON CONFLICT(id) DO NOTHING`,
		id, site, hash, g.TokenExpires.UnixNano(), now.UnixNano())
	if err != nil {
		return Gateway{}, "", fmt.Errorf("create gateway %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return Gateway{}, "", fmt.Errorf("create gateway %s: %w", id, err)
	} else if n == 0 {
		return Gateway{}, "", ErrExists
	}
	got, err := r.Get(ctx, id)
	if err != nil {
		return Gateway{}, "", fmt.Errorf("create gateway %s: %w", id, err)
	}
	r.log.Info("gateway created", "gateway", id, "site", site)
	return got, token, nil
}

const cols = `id, site, created_at, enrolled_at, last_seen, revoked_at, token_expires`

func scanGateway(sc interface{ Scan(...any) error }) (Gateway, error) {
	var g Gateway
	var created, enrolled, seen, revoked, expires int64
	if err := sc.Scan(&g.ID, &g.Site, &created, &enrolled, &seen, &revoked, &expires); err != nil {
		return Gateway{}, err
	}
	g.CreatedAt = fromNanos(created)
	g.EnrolledAt = fromNanos(enrolled)
	g.LastSeen = fromNanos(seen)
	g.Revoked = revoked != 0
	if !g.Enrolled() && !g.Revoked {
		g.TokenExpires = fromNanos(expires)
	}
	return g, nil
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Get returns the gateway id (ErrNotFound).
func (r *Registry) Get(ctx context.Context, id string) (Gateway, error) {
	row := r.db.QueryRowContext(ctx, `SELECT `+cols+` FROM gateways WHERE id = ?`, id)
	g, err := scanGateway(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Gateway{}, ErrNotFound
	}
	if err != nil {
		return Gateway{}, fmt.Errorf("get gateway %s: %w", id, err)
	}
	return g, nil
}

// List returns every gateway, ordered by id.
func (r *Registry) List(ctx context.Context) ([]Gateway, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+cols+` FROM gateways ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list gateways: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []Gateway
	for rows.Next() {
		g, err := scanGateway(rows)
		if err != nil {
			return nil, fmt.Errorf("list gateways: %w", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list gateways: %w", err)
	}
	return out, nil
}

// Revoke makes the gateway's token and credential stop working at once.
// Revoking a revoked gateway does nothing; an unknown id is ErrNotFound.
func (r *Registry) Revoke(ctx context.Context, id string) error {
	res, err := r.db.ExecContext(ctx,
		`UPDATE gateways SET token_hash = NULL, cred_hash = NULL,
		 revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END WHERE id = ?`,
		r.now().UnixNano(), id)
	if err != nil {
		return fmt.Errorf("revoke gateway %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("revoke gateway %s: %w", id, err)
	} else if n == 0 {
		return ErrNotFound
	}
	r.log.Info("gateway revoked", "gateway", id)
	return nil
}

// Enrollment is what a gateway gets for its token.
type Enrollment struct {
	Gateway       string
	Site          string
	Credential    string
	HubCertSHA256 string
}

// EnrollToken trades a one-time token for the gateway's credential. A token
// works once; an unknown, used, expired or revoked one is ErrBadToken.
func (r *Registry) EnrollToken(ctx context.Context, token string) (Enrollment, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > maxSecretLen {
		return Enrollment{}, ErrBadToken
	}
	cred, credHash, err := newSecret(credPrefix)
	if err != nil {
		return Enrollment{}, fmt.Errorf("enroll gateway: %w", err)
	}
	now := r.now().UnixNano()
	// One statement: two gateways racing with one token cannot both win.
	row := r.db.QueryRowContext(ctx,
		`UPDATE gateways SET token_hash = NULL, token_expires = 0, cred_hash = ?, enrolled_at = ?
		 WHERE token_hash = ? AND token_expires > ? AND revoked_at = 0 RETURNING id, site`,
		credHash, now, hashSecret(token), now)
	var e Enrollment
	if err := row.Scan(&e.Gateway, &e.Site); errors.Is(err, sql.ErrNoRows) {
		return Enrollment{}, ErrBadToken
	} else if err != nil {
		return Enrollment{}, fmt.Errorf("enroll gateway: %w", err)
	}
	e.Credential, e.HubCertSHA256 = cred, r.cert()
	r.log.Info("gateway enrolled", "gateway", e.Gateway, "site", e.Site)
	return e, nil
}

// AuthenticateGateway checks a gateway credential ("vgc_..."): it returns
// the gateway and its site when the credential belongs to an enrolled,
// unrevoked gateway. It reads the database every time (one primary-key
// lookup), so a revocation takes effect at once; last_seen is written at
// most every 30 s.
func (r *Registry) AuthenticateGateway(ctx context.Context, credential string) (gatewayID, site string, ok bool) {
	if !strings.HasPrefix(credential, credPrefix) || len(credential) > maxSecretLen {
		return "", "", false
	}
	var seen int64
	err := r.db.QueryRowContext(ctx,
		`SELECT id, site, last_seen FROM gateways WHERE cred_hash = ? AND revoked_at = 0`,
		hashSecret(credential)).Scan(&gatewayID, &site, &seen)
	if err != nil {
		if !errors.Is(err, sql.ErrNoRows) {
			r.log.Warn("gateway authentication failed", "err", err)
		}
		return "", "", false
	}
	now := r.now()
	if now.Sub(fromNanos(seen)) >= lastSeenEvery {
		if _, err := r.db.ExecContext(ctx, `UPDATE gateways SET last_seen = ? WHERE id = ?`,
			now.UnixNano(), gatewayID); err != nil {
			r.log.Warn("gateway last_seen", "gateway", gatewayID, "err", err)
		}
	}
	return gatewayID, site, true
}

// AuthorizePublish decides whether credential may publish (RTSP RECORD) a
// camera of cameraSite: only an enrolled, unrevoked gateway, and only for
// cameras of its own site. It asks the database every time, so a
// revocation takes effect at once.
func (r *Registry) AuthorizePublish(ctx context.Context, credential, cameraSite string) (gatewayID string, ok bool) {
	id, site, valid := r.AuthenticateGateway(ctx, credential)
	if !valid || site == "" || site != cameraSite {
		return "", false
	}
	return id, true
}

// ErrEnrolled: the gateway has enrolled or been revoked, so it gets no new
// enrolment token (revoke it and create a new gateway instead).
var ErrEnrolled = errors.New("gateway enrolled or revoked")

// NewToken replaces the enrolment token of a gateway that has not enrolled
// yet (its old token stops working), for example after the first expired.
// ErrNotFound; ErrEnrolled once enrolled or revoked.
func (r *Registry) NewToken(ctx context.Context, id string) (Gateway, string, error) {
	token, hash, err := newToken(r.cert())
	if err != nil {
		return Gateway{}, "", fmt.Errorf("new token for gateway %s: %w", id, err)
	}
	expires := r.now().Add(r.cfg.TokenTTL)
	res, err := r.db.ExecContext(ctx,
		`UPDATE gateways SET token_hash = ?, token_expires = ? WHERE id = ? AND enrolled_at = 0 AND revoked_at = 0`,
		hash, expires.UnixNano(), id)
	if err != nil {
		return Gateway{}, "", fmt.Errorf("new token for gateway %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return Gateway{}, "", fmt.Errorf("new token for gateway %s: %w", id, err)
	} else if n == 0 {
		if _, err := r.Get(ctx, id); err != nil {
			return Gateway{}, "", err
		}
		return Gateway{}, "", ErrEnrolled
	}
	g, err := r.Get(ctx, id)
	if err != nil {
		return Gateway{}, "", err
	}
	r.log.Info("gateway enrolment token replaced", "gateway", id)
	return g, token, nil
}
