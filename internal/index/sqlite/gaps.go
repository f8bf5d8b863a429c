package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// AddGap implements index.Segments.
func (s *Store) AddGap(ctx context.Context, g index.Gap) (int64, error) {
	if g.Camera == "" {
		return 0, fmt.Errorf("add gap: %w", invalidErr("empty camera"))
	}
	res, err := s.write.ExecContext(ctx,
		`INSERT INTO gaps (camera, start_us, end_us, state, reason) VALUES (?, ?, ?, ?, ?)`,
		g.Camera, micros(g.Start), micros(g.End), string(g.State), g.Reason)
	if err != nil {
		return 0, fmt.Errorf("add gap: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("add gap: %w", err)
	}
	return id, nil
}

// SetPendingGap implements index.Segments: in one transaction it removes
// the camera's GapPending gaps and, when start < end, adds [start, end).
func (s *Store) SetPendingGap(ctx context.Context, camera string, start, end time.Time) error {
	if camera == "" {
		return fmt.Errorf("set pending gap: %w", invalidErr("empty camera"))
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM gaps WHERE camera = ? AND state = ?`,
			camera, string(index.GapPending)); err != nil {
			return err
		}
		if !start.Before(end) {
			return nil
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO gaps (camera, start_us, end_us, state, reason) VALUES (?, ?, ?, ?, ?)`,
			camera, micros(start), micros(end), string(index.GapPending), "held_at_site")
		return err
	})
	if err != nil {
		return fmt.Errorf("set pending gap: %w", err)
	}
	return nil
}

// Gaps implements index.Segments: gaps with Start < to and End > from,
// ordered by Start.
func (s *Store) Gaps(ctx context.Context, camera string, from, to time.Time) ([]index.Gap, error) {
	if !from.Before(to) {
		return nil, nil
	}
	rows, err := s.read.QueryContext(ctx, `SELECT id, camera, start_us, end_us, state, reason
		FROM gaps WHERE camera = ? AND end_us > ? AND start_us < ?
		ORDER BY start_us, id`, camera, micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("gaps: %w", err)
	}
	out, err := scanAll(rows, scanGap)
	if err != nil {
		return nil, fmt.Errorf("gaps: %w", err)
	}
	return out, nil
}

// DeleteGapsBefore implements index.Segments: it removes the camera's gaps
// with End before t; an empty camera means every camera.
func (s *Store) DeleteGapsBefore(ctx context.Context, camera string, t time.Time) error {
	q, args := `DELETE FROM gaps WHERE end_us < ?`, []any{micros(t)}
	if camera != "" {
		q, args = q+` AND camera = ?`, append(args, camera)
	}
	if _, err := s.write.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("delete gaps before: %w", err)
	}
	return nil
}

func scanGap(r scanner) (index.Gap, error) {
	var g index.Gap
	var start, end int64
	var state string
	if err := r.Scan(&g.ID, &g.Camera, &start, &end, &state, &g.Reason); err != nil {
		return index.Gap{}, err
	}
	g.Start, g.End, g.State = fromMicros(start), fromMicros(end), index.GapState(state)
	return g, nil
}
