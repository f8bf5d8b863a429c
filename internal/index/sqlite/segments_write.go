package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"

	"github.com/vigil-video/vigil/internal/index"
)

// idChunk bounds the number of ids bound into one IN (...) statement.
const idChunk = 500

// AddSegment implements index.Segments. A zero State is stored as
// SegmentOpen. A Path already used by another row is a wrapped
// index.ErrConflict: two rows must never own one blob.
func (s *Store) AddSegment(ctx context.Context, seg index.Segment) (int64, error) {
	ids, err := s.addSegments(ctx, []index.Segment{seg})
	if err != nil {
		return 0, fmt.Errorf("add segment: %w", err)
	}
	return ids[0], nil
}

// AddSegments implements index.Segments: one transaction, so one fsync
// for all of segs.
func (s *Store) AddSegments(ctx context.Context, segs []index.Segment) ([]int64, error) {
	if len(segs) == 0 {
		return nil, nil
	}
	ids, err := s.addSegments(ctx, segs)
	if err != nil {
		return nil, fmt.Errorf("add segments: %w", err)
	}
	return ids, nil
}

func (s *Store) addSegments(ctx context.Context, segs []index.Segment) ([]int64, error) {
	type row struct {
		seg   index.Segment
		frags []byte
	}
	rows := make([]row, len(segs))
	for i, seg := range segs {
		if seg.State == 0 {
			seg.State = index.SegmentOpen
		}
		if err := validSegment(seg); err != nil {
			return nil, err
		}
		frags, err := encodeFragments(seg.Fragments)
		if err != nil {
			return nil, invalidErr(err.Error())
		}
		rows[i] = row{seg, frags}
	}
	var ids []int64
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		ids, err = insertRows(ctx, tx, `INSERT INTO segments
			(camera, start_us, end_us, bytes, path, state, init_size, codecs, origin, first_seq, last_seq, fragments)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, len(rows), func(i int) []any {
			seg := rows[i].seg
			return []any{seg.Camera, micros(seg.Start), micros(seg.End), seg.Bytes, seg.Path,
				seg.State, seg.InitSize, seg.Codecs, seg.Origin, int64(seg.FirstSeq),
				lastSeq(seg.Origin, int64(seg.FirstSeq), len(seg.Fragments)), rows[i].frags}
		}, func(i int, err error) error {
			if isUnique(err) {
				return conflictErr("segment path " + rows[i].seg.Path)
			}
			return err
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// insertRows runs the insert query once per row in tx, with row i's
// arguments from args, and returns the new ids in order; mapErr (when not
// nil) turns row i's error into the one returned.
func insertRows(ctx context.Context, tx *sql.Tx, query string, n int, args func(i int) []any, mapErr func(i int, err error) error) ([]int64, error) {
	ins, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer ins.Close()
	ids := make([]int64, n)
	for i := range n {
		res, err := ins.ExecContext(ctx, args(i)...)
		if err == nil {
			ids[i], err = res.LastInsertId()
		}
		if err != nil {
			if mapErr != nil {
				err = mapErr(i, err)
			}
			return nil, err
		}
	}
	return ids, nil
}

func validSegment(seg index.Segment) error {
	switch {
	case seg.Camera == "":
		return invalidErr("empty camera")
	case seg.Path == "":
		return invalidErr("empty path")
	case seg.State < index.SegmentOpen || seg.State > index.SegmentDeleting:
		return invalidErr(fmt.Sprintf("state %d", seg.State))
	case seg.Origin != "" && (seg.FirstSeq == 0 || seg.FirstSeq > math.MaxInt64/2):
		return invalidErr(fmt.Sprintf("first seq %d of an imported segment", seg.FirstSeq))
	}
	return nil
}

// lastSeq is the segments.last_seq column: the sequence number of an
// imported segment's last fragment, 0 for hub footage or no fragments.
func lastSeq(origin string, firstSeq int64, frags int) int64 {
	if origin == "" || frags == 0 {
		return 0
	}
	return firstSeq + int64(frags) - 1
}

// CommitSegments implements index.Segments. Every update must name an
// existing SegmentOpen row: an unknown id is a wrapped index.ErrNotFound,
// a row no longer open a wrapped index.ErrConflict, and in both cases
// nothing is applied. The transaction is durable when this returns.
func (s *Store) CommitSegments(ctx context.Context, ups []index.SegmentUpdate) error {
	if len(ups) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c, err := newCommitter(ctx, tx)
		if err != nil {
			return err
		}
		defer c.close()
		for _, up := range ups {
			if err := c.apply(ctx, up); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit segments: %w", err)
	}
	return nil
}

// committer holds the statements one CommitSegments reuses per update.
type committer struct {
	get, set *sql.Stmt
}

func newCommitter(ctx context.Context, tx *sql.Tx) (*committer, error) {
	get, err := tx.PrepareContext(ctx, `SELECT state, origin, first_seq, fragments FROM segments WHERE id = ?`)
	if err != nil {
		return nil, err
	}
	set, err := tx.PrepareContext(ctx,
		`UPDATE segments SET end_us = ?, bytes = ?, state = ?, fragments = ?, last_seq = ? WHERE id = ?`)
	if err != nil {
		get.Close()
		return nil, err
	}
	return &committer{get: get, set: set}, nil
}

func (c *committer) close() {
	c.get.Close()
	c.set.Close()
}

func (c *committer) apply(ctx context.Context, up index.SegmentUpdate) error {
	var state index.SegmentState
	var origin string
	var firstSeq int64
	var frags []byte
	err := c.get.QueryRowContext(ctx, up.ID).Scan(&state, &origin, &firstSeq, &frags)
	if err != nil {
		return notFound(err, fmt.Sprint("segment ", up.ID))
	}
	if state != index.SegmentOpen {
		return conflictErr(fmt.Sprintf("segment %d is not open", up.ID))
	}
	have, err := decodeFragments(frags)
	if err != nil {
		return fmt.Errorf("segment %d: %w", up.ID, err)
	}
	var prev index.Fragment
	if len(have) > 0 {
		prev = have[len(have)-1]
	}
	if frags, err = appendFragments(frags, prev, up.Fragments); err != nil {
		return fmt.Errorf("segment %d: %w", up.ID, invalidErr(err.Error()))
	}
	if up.Close {
		state = index.SegmentClosed
	}
	_, err = c.set.ExecContext(ctx, micros(up.End), up.Bytes, state, frags,
		lastSeq(origin, firstSeq, len(have)+len(up.Fragments)), up.ID)
	return err
}

// ReplaceSegment implements index.Segments (any current state).
func (s *Store) ReplaceSegment(ctx context.Context, seg index.Segment) error {
	frags, err := encodeFragments(seg.Fragments)
	if err != nil {
		return fmt.Errorf("replace segment: %w", invalidErr(err.Error()))
	}
	if seg.State < index.SegmentOpen || seg.State > index.SegmentDeleting {
		return fmt.Errorf("replace segment: %w", invalidErr(fmt.Sprintf("state %d", seg.State)))
	}
	// origin and first_seq stay; last_seq follows the new fragment count.
	res, err := s.write.ExecContext(ctx,
		`UPDATE segments SET end_us = ?1, bytes = ?2, state = ?3, fragments = ?4,
			last_seq = CASE WHEN origin != '' AND ?6 > 0 THEN first_seq + ?6 - 1 ELSE 0 END
		WHERE id = ?5`,
		micros(seg.End), seg.Bytes, seg.State, frags, seg.ID, len(seg.Fragments))
	if err := rowsAffectedOrNotFound(res, err); err != nil {
		return fmt.Errorf("replace segment: %w", notFound(err, fmt.Sprint("segment ", seg.ID)))
	}
	return nil
}

// MarkDeleting implements index.Segments. Unknown ids are ignored, so a
// retry after a crash is harmless.
func (s *Store) MarkDeleting(ctx context.Context, ids []int64) error {
	err := s.execIDs(ctx, `UPDATE segments SET state = 3 WHERE id IN `, ids)
	if err != nil {
		return fmt.Errorf("mark deleting: %w", err)
	}
	return nil
}

// DeleteSegments implements index.Segments. Unknown ids are ignored.
func (s *Store) DeleteSegments(ctx context.Context, ids []int64) error {
	err := s.execIDs(ctx, `DELETE FROM segments WHERE id IN `, ids)
	if err != nil {
		return fmt.Errorf("delete segments: %w", err)
	}
	return nil
}

// execIDs runs prefix + "(?, ?, ...)" over ids in chunks, in one
// transaction.
func (s *Store) execIDs(ctx context.Context, prefix string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for len(ids) > 0 {
			n := min(len(ids), idChunk)
			args := make([]any, n)
			for i, id := range ids[:n] {
				args[i] = id
			}
			q := prefix + "(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
			ids = ids[n:]
		}
		return nil
	})
}
