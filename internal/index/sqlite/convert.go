package sqlite

import (
	"database/sql"
	"errors"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// micros converts t to the stored form: unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts a stored time back, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros stores the zero time as NULL.
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(t), Valid: true}
}

// fromNullMicros maps NULL back to the zero time.
func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

// nullString stores "" as NULL (optional references).
func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

// jsonOrEmpty defaults an empty JSON document to "{}".
func jsonOrEmpty(s string) string {
	if s == "" {
		return "{}"
	}
	return s
}

// isUnique reports whether err is a PRIMARY KEY or UNIQUE violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code()
	return c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || c == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// rowsAffectedOrNotFound turns "no row changed" into sql.ErrNoRows.
func rowsAffectedOrNotFound(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sql.ErrNoRows
	}
	return nil
}

// notFound maps sql.ErrNoRows to index.ErrNotFound, keeping other errors.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFoundErr(what)
	}
	return err
}
