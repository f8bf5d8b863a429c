package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// Event page sizes.
const (
	defaultEventLimit = 100
	maxEventLimit     = 1000
)

// addEventSQL inserts an event, taking an empty site from the camera.
const addEventSQL = `INSERT INTO events
	(camera, site, type, start_us, end_us, data) VALUES (?1,
	coalesce(nullif(?2, ''), (SELECT site FROM cameras WHERE id = ?1), ''),
	?3, ?4, ?5, ?6)`

// AddEvent implements index.Events. An empty Site is filled in from the
// camera's site (when the camera exists) so that site scoping also finds
// events whose producer only knew the camera; empty Data is stored as "{}".
func (s *Store) AddEvent(ctx context.Context, e index.Event) (int64, error) {
	if e.Type == "" {
		return 0, fmt.Errorf("add event: %w", invalidErr("empty type"))
	}
	res, err := s.write.ExecContext(ctx, addEventSQL,
		e.Camera, e.Site, e.Type, micros(e.Start), nullMicros(e.End), jsonOrEmpty(e.Data))
	if err != nil {
		return 0, fmt.Errorf("add event: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("add event: %w", err)
	}
	return id, nil
}

// EndEvent implements index.Events.
func (s *Store) EndEvent(ctx context.Context, id int64, end time.Time) error {
	res, err := s.write.ExecContext(ctx, `UPDATE events SET end_us = ? WHERE id = ?`,
		nullMicros(end), id)
	if err := rowsAffectedOrNotFound(res, err); err != nil {
		return fmt.Errorf("end event: %w", notFound(err, fmt.Sprint("event ", id)))
	}
	return nil
}

// WriteEvents implements index.Events.
func (s *Store) WriteEvents(ctx context.Context, ends []index.EventEnd, adds []index.Event) ([]int64, error) {
	for _, e := range adds {
		if e.Type == "" {
			return nil, fmt.Errorf("write events: %w", invalidErr("empty type"))
		}
	}
	if len(ends) == 0 && len(adds) == 0 {
		return nil, nil
	}
	var ids []int64
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		for _, e := range ends {
			if _, err := tx.ExecContext(ctx, `UPDATE events SET end_us = ? WHERE id = ?`, nullMicros(e.End), e.ID); err != nil {
				return err
			}
		}
		if len(adds) == 0 {
			return nil
		}
		ids, err = insertRows(ctx, tx, addEventSQL, len(adds), func(i int) []any {
			e := adds[i]
			return []any{e.Camera, e.Site, e.Type, micros(e.Start), nullMicros(e.End), jsonOrEmpty(e.Data)}
		}, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("write events: %w", err)
	}
	return ids, nil
}

// DeleteEventsBefore implements index.Events: it removes events that
// started before t.
func (s *Store) DeleteEventsBefore(ctx context.Context, t time.Time) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM events WHERE start_us < ?`, micros(t)); err != nil {
		return fmt.Errorf("delete events before: %w", err)
	}
	return nil
}

// ListEvents implements index.Events: newest first by (Start, ID); From
// and To select Start in [From, To).
func (s *Store) ListEvents(ctx context.Context, f index.EventFilter) (index.EventPage, error) {
	if f.Sites != nil && len(f.Sites) == 0 {
		return index.EventPage{}, nil
	}
	where, args, err := eventWhere(f)
	if err != nil {
		return index.EventPage{}, fmt.Errorf("list events: %w", err)
	}
	limit := eventLimit(f.Limit)
	rows, err := s.read.QueryContext(ctx, `SELECT id, camera, site, type, start_us, end_us, data
		FROM events`+where+` ORDER BY start_us DESC, id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return index.EventPage{}, fmt.Errorf("list events: %w", err)
	}
	evs, err := scanAll(rows, scanEvent)
	if err != nil {
		return index.EventPage{}, fmt.Errorf("list events: %w", err)
	}
	return eventPage(evs, limit), nil
}

// eventLimit applies the default and the cap to a requested page size.
func eventLimit(n int) int {
	if n <= 0 {
		return defaultEventLimit
	}
	return min(n, maxEventLimit)
}

// eventPage cuts evs (up to limit+1 rows) into a page and its cursor.
func eventPage(evs []index.Event, limit int) index.EventPage {
	if len(evs) <= limit {
		return index.EventPage{Events: evs}
	}
	evs = evs[:limit]
	last := evs[limit-1]
	return index.EventPage{Events: evs, Next: eventCursor{StartUS: micros(last.Start), ID: last.ID}.encode()}
}

// eventWhere builds the WHERE clause of a filter.
func eventWhere(f index.EventFilter) (string, []any, error) {
	var conds []string
	var args []any
	add := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	for _, eq := range []struct{ col, v string }{{"camera", f.Camera}, {"site", f.Site}, {"type", f.Type}} {
		if eq.v != "" {
			add(eq.col+" = ?", eq.v)
		}
	}
	if !f.From.IsZero() {
		add("start_us >= ?", micros(f.From))
	}
	if !f.To.IsZero() {
		add("start_us < ?", micros(f.To))
	}
	if f.Sites != nil {
		add("site IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.Sites)), ",")+")", stringArgs(f.Sites)...)
	}
	if f.Cursor != "" {
		c, err := parseCursor(f.Cursor)
		if err != nil {
			return "", nil, invalidErr(err.Error())
		}
		add("(start_us, id) < (?, ?)", c.StartUS, c.ID)
	}
	if len(conds) == 0 {
		return "", args, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

func stringArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func scanEvent(r scanner) (index.Event, error) {
	var e index.Event
	var start int64
	var end = nullMicros(time.Time{})
	if err := r.Scan(&e.ID, &e.Camera, &e.Site, &e.Type, &start, &end, &e.Data); err != nil {
		return index.Event{}, err
	}
	e.Start, e.End = fromMicros(start), fromNullMicros(end)
	return e, nil
}
