package audit

import (
	"database/sql"
	"fmt"
	"strings"
)

// schema is the audit tables. The triggers refuse UPDATE and DELETE on
// audit_log through SQL: they keep honest code append-only, while the
// hash chain and the signed heads catch whoever drops them.
const schema = `
CREATE TABLE IF NOT EXISTS audit_log (
	seq       INTEGER PRIMARY KEY,
	time      TEXT NOT NULL,
	username  TEXT NOT NULL,
	role      TEXT NOT NULL,
	action    TEXT NOT NULL,
	camera    TEXT NOT NULL,
	site      TEXT NOT NULL,
	from_time TEXT NOT NULL,
	to_time   TEXT NOT NULL,
	reason    TEXT NOT NULL,
	remote    TEXT NOT NULL,
	detail    TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_user ON audit_log(username, seq);
CREATE INDEX IF NOT EXISTS audit_log_camera ON audit_log(camera, seq);
CREATE INDEX IF NOT EXISTS audit_log_action ON audit_log(action, seq);
CREATE TABLE IF NOT EXISTS audit_heads (
	seq       INTEGER PRIMARY KEY,
	hash      TEXT NOT NULL,
	time      TEXT NOT NULL,
	signature BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
`

// createSchema creates the audit tables when missing. Statements are split
// on ";\n" so that the triggers' bodies stay whole.
func createSchema(db *sql.DB) error {
	for stmt := range strings.SplitSeq(schema, ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := db.Exec(stmt); err != nil {
			return fmt.Errorf("audit schema: %w", err)
		}
	}
	return nil
}
