package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // the "sqlite" driver, for VerifyDir
)

// Report is the result of a verification.
type Report struct {
	// OK is true when every record and every signed head checks out.
	OK bool `json:"ok"`
	// Records is how many records the log holds.
	Records int64 `json:"records"`
	// FirstBad is the sequence number of the first broken record (or of
	// the first missing one); nil when OK.
	FirstBad *int64 `json:"first_bad"`
	// Reason says what is broken; "" when OK.
	Reason string `json:"reason"`
	// Signed is the sequence number of the last record covered by a valid
	// signed head (records after it are only chained, not yet signed).
	Signed int64 `json:"signed"`
}

// Verify waits for the queued entries to be committed (unless Run has
// returned), then checks the log as VerifyDB does with the log's own
// public key. It reads through a read-only connection of its own, so the
// scan does not hold the index's writer connection.
func (l *Log) Verify(ctx context.Context) (Report, error) {
	if err := l.Sync(ctx); err != nil && !errors.Is(err, ErrClosed) {
		return Report{}, err
	}
	db, err := l.readOnly(ctx)
	if err != nil {
		return Report{}, err
	}
	if db == nil {
		return VerifyDB(ctx, l.db, l.signer.Public())
	}
	defer db.Close()
	return VerifyDB(ctx, db, l.signer.Public())
}

// readOnly opens a read-only pool on the log's database file; nil for an
// in-memory database.
func (l *Log) readOnly(ctx context.Context) (*sql.DB, error) {
	file, err := l.dbFile(ctx)
	if err != nil || file == "" {
		return nil, err
	}
	return openReadOnly(file)
}

// dbFile is the file of the log's database, "" when in memory.
func (l *Log) dbFile(ctx context.Context) (string, error) {
	var seq int
	var name, file string
	if err := l.db.QueryRowContext(ctx, `SELECT seq, name, file FROM pragma_database_list WHERE name = 'main'`).
		Scan(&seq, &name, &file); err != nil {
		return "", fmt.Errorf("audit: find database file: %w", err)
	}
	return file, nil
}

// openReadOnly opens path read-only (it must exist).
func openReadOnly(path string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("audit: open database: %w", err)
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: "mode=ro&_pragma=busy_timeout(5000)&_pragma=query_only(1)"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("audit: open database: %w", err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// VerifyDir checks the audit log of a hub's data directory offline: it
// opens DATA_DIR/vigil.db read-only and checks it with the public key in
// DATA_DIR/keys/hub_ed25519.pub.pem (PEM "PUBLIC KEY", PKIX).
func VerifyDir(ctx context.Context, dataDir string) (Report, error) {
	pub, err := ReadPublicKey(filepath.Join(dataDir, "keys", "hub_ed25519.pub.pem"))
	if err != nil {
		return Report{}, err
	}
	path := filepath.Join(dataDir, "vigil.db")
	if _, err := os.Stat(path); err != nil {
		return Report{}, fmt.Errorf("audit: open database: %w", err)
	}
	db, err := openReadOnly(path)
	if err != nil {
		return Report{}, err
	}
	defer db.Close()
	return VerifyDB(ctx, db, pub)
}

// ReadPublicKey reads an Ed25519 public key from a PEM "PUBLIC KEY"
// (PKIX) file.
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: read public key: %w", err)
	}
	blk, _ := pem.Decode(raw)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("audit: %s holds no PEM PUBLIC KEY", path)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: parse public key %s: %w", path, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("audit: %s is not an Ed25519 key", path)
	}
	return pub, nil
}

// head is one stored signed head.
type head struct {
	seq  int64
	hash string
	ok   bool // signature valid
}

// VerifyDB checks the audit log in db with pub: every record's hash, the
// links between records, the continuity of sequence numbers, and every
// signed head (its signature, that its record exists and has its hash).
// The report names the first broken record. An error means the check
// could not run (not that the log is broken).
func VerifyDB(ctx context.Context, db *sql.DB, pub ed25519.PublicKey) (Report, error) {
	if len(pub) != ed25519.PublicKeySize {
		return Report{}, errNoKey
	}
	// One transaction: heads and records from the same snapshot.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return Report{}, fmt.Errorf("audit: begin read: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	heads, err := readHeads(ctx, tx, pub)
	if err != nil {
		return Report{}, err
	}
	v := verifier{heads: map[int64]head{}}
	for _, h := range heads {
		if !h.ok {
			v.fail(h.seq, fmt.Sprintf("signature of head %d is invalid", h.seq))
			continue
		}
		v.heads[h.seq] = h
	}
	if err := v.walk(ctx, tx); err != nil {
		return Report{}, err
	}
	v.checkTail(heads)
	return v.report(), nil
}

func readHeads(ctx context.Context, db *sql.Tx, pub ed25519.PublicKey) ([]head, error) {
	rows, err := db.QueryContext(ctx, `SELECT seq, hash, time, signature FROM audit_heads ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("audit: read heads: %w", err)
	}
	defer rows.Close()
	var out []head
	for rows.Next() {
		var h head
		var at string
		var sig []byte
		if err := rows.Scan(&h.seq, &h.hash, &at, &sig); err != nil {
			return nil, fmt.Errorf("audit: read heads: %w", err)
		}
		hash, err := parseHash(h.hash)
		h.ok = err == nil && len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, headMessage(h.seq, hash, at), sig)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: read heads: %w", err)
	}
	return out, nil
}

// verifier walks the chain, keeping the first (lowest) failure.
type verifier struct {
	heads    map[int64]head // valid heads by seq
	records  int64
	last     int64 // seq of the last record read
	lastGood int64 // last valid head whose record matched
	bad      *int64
	reason   string
}

func (v *verifier) fail(seq int64, reason string) {
	if v.bad == nil || seq < *v.bad {
		v.bad, v.reason = &seq, reason
	}
}

// walk reads every record in seq order and checks it.
func (v *verifier) walk(ctx context.Context, db *sql.Tx) error {
	rows, err := db.QueryContext(ctx, selectRecord+" ORDER BY seq")
	if err != nil {
		return fmt.Errorf("audit: read records: %w", err)
	}
	defer rows.Close()
	prev := [32]byte{}
	broken := false
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return fmt.Errorf("audit: read records: %w", err)
		}
		v.records++
		if !broken {
			broken = !v.check(&r, &prev)
		}
		v.last = r.Seq
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: read records: %w", err)
	}
	return nil
}

// check verifies one record against the one before it; false once the
// chain is broken (nothing after it can be trusted).
func (v *verifier) check(r *Record, prev *[32]byte) bool {
	want := v.last + 1
	switch {
	case r.Seq != want:
		v.fail(want, fmt.Sprintf("record %d is missing (the next one is %d)", want, r.Seq))
		return false
	case r.PrevHash != hex.EncodeToString(prev[:]):
		v.fail(r.Seq, fmt.Sprintf("record %d does not link to record %d (inserted or changed)", r.Seq, r.Seq-1))
		return false
	}
	h := computeHash(*prev, r)
	if r.Hash != hex.EncodeToString(h[:]) {
		v.fail(r.Seq, fmt.Sprintf("record %d was changed (its hash does not match its content)", r.Seq))
		return false
	}
	*prev = h
	if hd, ok := v.heads[r.Seq]; ok {
		if hd.hash != r.Hash {
			v.fail(v.lastGood+1, fmt.Sprintf("records %d..%d were rewritten (signed head %d does not match)", v.lastGood+1, r.Seq, r.Seq))
			return false
		}
		v.lastGood = r.Seq
	}
	return true
}

// checkTail reports heads signed beyond the last record (deleted tail)
// and a log with records but no valid signed head (heads deleted).
func (v *verifier) checkTail(heads []head) {
	for _, h := range heads {
		if h.ok && h.seq > v.last {
			v.fail(v.last+1, fmt.Sprintf("records %d..%d were deleted (signed head %d is beyond the last record %d)", v.last+1, h.seq, h.seq, v.last))
			break
		}
	}
	if v.records > 0 && len(v.heads) == 0 {
		v.fail(1, "no valid signed head: the heads were deleted or forged")
	}
}

func (v *verifier) report() Report {
	r := Report{OK: v.bad == nil, Records: v.records, FirstBad: v.bad, Reason: v.reason, Signed: v.lastGood}
	return r
}

// errNoKey is returned by VerifyDB without a valid public key.
var errNoKey = errors.New("audit: no Ed25519 public key to check the heads with")
