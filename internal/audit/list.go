package audit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid is returned by List for a malformed cursor or filter.
var ErrInvalid = errors.New("audit: invalid filter")

// Limits of List.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Filter selects records for List. Zero fields select everything.
type Filter struct {
	User   string
	Camera string
	Action string
	// From and To bound the record time: From <= time < To.
	From, To time.Time
	// Limit is the page size (DefaultLimit when 0, at most MaxLimit).
	Limit int
	// Cursor is Page.Next of the previous page.
	Cursor string
}

// Page is one page of records, newest first.
type Page struct {
	Records []Record
	// Next is the cursor of the following page; empty at the end.
	Next string
}

// List returns records newest first. It does not wait for queued
// entries; call Sync first to see them.
func (l *Log) List(ctx context.Context, f Filter) (Page, error) {
	q, args, limit, err := listQuery(f)
	if err != nil {
		return Page{}, err
	}
	rows, err := l.db.QueryContext(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	var p Page
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return Page{}, fmt.Errorf("audit: list: %w", err)
		}
		p.Records = append(p.Records, r)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("audit: list: %w", err)
	}
	if len(p.Records) > limit {
		p.Records = p.Records[:limit]
		p.Next = strconv.FormatInt(p.Records[limit-1].Seq, 10)
	}
	return p, nil
}

const selectRecord = `SELECT seq, time, username, role, action, camera, site, from_time, to_time,
	reason, remote, detail, prev_hash, hash FROM audit_log`

// listQuery builds the query of a filter; it asks for one row more than
// the limit to know whether a next page exists.
func listQuery(f Filter) (string, []any, int, error) {
	limit := f.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 0 || limit > MaxLimit {
		return "", nil, 0, fmt.Errorf("%w: limit must be 1..%d", ErrInvalid, MaxLimit)
	}
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.User != "" {
		add("username = ?", f.User)
	}
	if f.Camera != "" {
		add("camera = ?", f.Camera)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if !f.From.IsZero() {
		add("time >= ?", fmtTime(f.From))
	}
	if !f.To.IsZero() {
		add("time < ?", fmtTime(f.To))
	}
	if f.Cursor != "" {
		c, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil || c < 1 {
			return "", nil, 0, fmt.Errorf("%w: bad cursor", ErrInvalid)
		}
		add("seq < ?", c)
	}
	q := selectRecord
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq DESC LIMIT ?"
	return q, append(args, limit+1), limit, nil
}

type scanner interface{ Scan(dst ...any) error }

func scanRecord(s scanner) (Record, error) {
	var r Record
	var detail string
	err := s.Scan(&r.Seq, &r.Time, &r.User, &r.Role, &r.Action, &r.Camera, &r.Site, &r.From, &r.To,
		&r.Reason, &r.Remote, &detail, &r.PrevHash, &r.Hash)
	r.Detail = []byte(detail)
	return r, err
}
