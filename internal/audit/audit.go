// Package audit is Vigil's tamper-evident audit trail: an append-only log
// of logins, views, playbacks, searches, snapshots, exports and changes,
// kept in the hub's SQLite database (tables audit_log and audit_heads).
//
// Each record carries the SHA-256 hash of the one before it (a hash
// chain), and the chain head is signed periodically with the hub's
// Ed25519 key, so that editing, inserting or deleting a row, or cutting
// off the tail behind a signed head, is detected by Verify, VerifyDB and
// VerifyDir. The encoding is documented in docs/format/audit.md.
//
// Record only queues an entry: one goroutine owned by Run assigns the
// sequence numbers and commits queued entries in one transaction about
// every 100 ms (or every 256 entries). The queue is bounded; when it is
// full Record waits, so no entry is ever dropped.
package audit

import (
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Actions written by Vigil.
const (
	ActionLogin       = "login"
	ActionLoginFailed = "login_failed"
	ActionLogout      = "logout"
	ActionLiveStart   = "live_start"
	ActionLiveStop    = "live_stop"
	ActionPlayback    = "playback"
	ActionSearch      = "search"
	ActionSnapshot    = "snapshot"
	ActionExport      = "export"
	ActionChange      = "change"
	ActionAuditView   = "audit_view"
)

// ErrClosed is returned by Record after Run has returned.
var ErrClosed = errors.New("audit: log closed")

// maxField caps every text field of a record, in bytes.
const maxField = 2048

// Signer signs chain heads with the hub's key.
type Signer interface {
	// Sign returns the Ed25519 signature of msg.
	Sign(msg []byte) []byte
	// Public returns the key that checks the signatures.
	Public() ed25519.PublicKey
}

// KeySigner is a Signer over an Ed25519 private key.
type KeySigner struct{ Key ed25519.PrivateKey }

// Sign implements Signer.
func (k KeySigner) Sign(msg []byte) []byte { return ed25519.Sign(k.Key, msg) }

// Public implements Signer.
func (k KeySigner) Public() ed25519.PublicKey { return k.Key.Public().(ed25519.PublicKey) }

// Entry is what a caller records. Time defaults to now.
type Entry struct {
	Time   time.Time
	User   string
	Role   string
	Action string
	Camera string
	Site   string
	From   time.Time
	To     time.Time
	Reason string
	Remote string
	// Detail is a small JSON object (keys sorted when stored). It must
	// not hold secrets.
	Detail map[string]any
}

// Record is one stored audit record.
type Record struct {
	Seq      int64           `json:"seq"`
	Time     string          `json:"time"`
	User     string          `json:"user"`
	Role     string          `json:"role"`
	Action   string          `json:"action"`
	Camera   string          `json:"camera"`
	Site     string          `json:"site"`
	From     string          `json:"from"`
	To       string          `json:"to"`
	Reason   string          `json:"reason"`
	Remote   string          `json:"remote"`
	Detail   json.RawMessage `json:"detail"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// Options tune a Log. The zero value gives the defaults.
type Options struct {
	// FlushInterval is how long a queued entry waits at most before its
	// transaction. It defaults to 100 ms.
	FlushInterval time.Duration
	// BatchSize commits as soon as this many entries are queued. It
	// defaults to 256.
	BatchSize int
	// Buffer is the capacity of the queue; Record waits beyond it. It
	// defaults to 4096.
	Buffer int
	// HeadInterval is how often the chain head is signed while records
	// are added (and always at shutdown). It defaults to 10 s.
	HeadInterval time.Duration
	// LiveIdle ends an HLS view (live_stop) after this long without a
	// request. It defaults to 30 s.
	LiveIdle time.Duration
	// Now is the clock. It defaults to time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.FlushInterval <= 0 {
		o.FlushInterval = 100 * time.Millisecond
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	if o.Buffer <= 0 {
		o.Buffer = 4096
	}
	if o.HeadInterval <= 0 {
		o.HeadInterval = 10 * time.Second
	}
	if o.LiveIdle <= 0 {
		o.LiveIdle = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// item is one message to the writer: an entry, or a sync request.
type item struct {
	e    Entry
	sync chan error
}

// Log is the audit log. Create it with New and run it with Run.
type Log struct {
	db     *sql.DB
	signer Signer
	log    *slog.Logger
	opt    Options
	ch     chan item

	mu      sync.RWMutex // guards closed against senders.Add
	closed  bool
	senders sync.WaitGroup

	// writer state (writer goroutine only, set up by New and Run)
	wdb      *sql.DB // where commits go: a connection of its own (Run)
	lastSeq  int64
	lastHash [32]byte
	headSeq  int64
	headTime time.Time

	live presence
}

// New creates the audit tables in db if needed and returns a Log on them.
// db is the hub's index database (sqlite.Store.DB()); the caller keeps
// owning it. log may be nil.
func New(db *sql.DB, signer Signer, log *slog.Logger) (*Log, error) {
	return NewWithOptions(db, signer, log, Options{})
}

// NewWithOptions is New with tuning options (tests, benchmarks).
func NewWithOptions(db *sql.DB, signer Signer, log *slog.Logger, opt Options) (*Log, error) {
	if db == nil || signer == nil {
		return nil, errors.New("audit: database and signer are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := createSchema(db); err != nil {
		return nil, err
	}
	l := &Log{db: db, signer: signer, log: log, opt: opt.withDefaults()}
	l.ch = make(chan item, l.opt.Buffer)
	l.live.m = map[viewerKey]*viewer{}
	if err := l.loadState(); err != nil {
		return nil, err
	}
	return l, nil
}

// loadState reads the last record and the last signed head.
func (l *Log) loadState() error {
	var hash string
	err := l.db.QueryRow(`SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&l.lastSeq, &hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		l.lastSeq, l.lastHash = 0, [32]byte{}
	case err != nil:
		return fmt.Errorf("audit: read last record: %w", err)
	default:
		if l.lastHash, err = parseHash(hash); err != nil {
			return fmt.Errorf("audit: last record %d: %w", l.lastSeq, err)
		}
	}
	var head sql.NullInt64
	if err := l.db.QueryRow(`SELECT MAX(seq) FROM audit_heads`).Scan(&head); err != nil {
		return fmt.Errorf("audit: read last head: %w", err)
	}
	l.headSeq = head.Int64
	return nil
}
