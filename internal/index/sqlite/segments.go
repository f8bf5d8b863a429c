package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// segmentColumns are the columns scanSegment reads, fragments last.
const segmentColumns = `id, camera, start_us, end_us, bytes, path, state, init_size, codecs, origin, first_seq, fragments`

// segmentColumnsNoFrags selects an empty blob in place of the fragments.
const segmentColumnsNoFrags = `id, camera, start_us, end_us, bytes, path, state, init_size, codecs, origin, first_seq, x''`

// GetSegment implements index.Segments; it returns segments in any state.
func (s *Store) GetSegment(ctx context.Context, id int64) (index.Segment, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+segmentColumns+` FROM segments WHERE id = ?`, id)
	seg, err := scanSegment(row)
	if err != nil {
		return index.Segment{}, fmt.Errorf("get segment: %w", notFound(err, fmt.Sprint("segment ", id)))
	}
	return seg, nil
}

// Segments implements index.Segments. A segment overlaps [from, to) when
// Start < to and End > from; an empty window (from >= to) selects nothing.
//
// The scan of segments_camera_start is bounded below by from minus the
// longest segment ever stored (segment_stats.max_span_us), so a one-hour
// query reads about an hour of rows however long the camera has recorded.
func (s *Store) Segments(ctx context.Context, camera string, from, to time.Time) ([]index.Segment, error) {
	if !from.Before(to) {
		return nil, nil // an empty window overlaps nothing
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+segmentColumns+` FROM segments
		WHERE camera = ?1 AND start_us < ?3
		  AND start_us >= ?2 - (SELECT max_span_us FROM segment_stats WHERE id = 1)
		  AND end_us > ?2 AND state != ?4
		ORDER BY start_us, id`,
		camera, micros(from), micros(to), index.SegmentDeleting)
	if err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	out, err := scanAll(rows, scanSegment)
	if err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	return out, nil
}

// OpenSegments implements index.Segments, ordered by id.
func (s *Store) OpenSegments(ctx context.Context) ([]index.Segment, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT `+segmentColumns+` FROM segments WHERE state = 1 ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("open segments: %w", err)
	}
	out, err := scanAll(rows, scanSegment)
	if err != nil {
		return nil, fmt.Errorf("open segments: %w", err)
	}
	return out, nil
}

// SegmentsBefore implements index.Segments. A limit <= 0 means no limit.
func (s *Store) SegmentsBefore(ctx context.Context, t time.Time, limit int) ([]index.Segment, error) {
	out, err := s.segmentsBefore(ctx, `start_us < ?1`, []any{micros(t), sqlLimit(limit)})
	if err != nil {
		return nil, fmt.Errorf("segments before: %w", err)
	}
	return out, nil
}

// CameraSegmentsBefore implements index.Segments. A limit <= 0 means no
// limit.
func (s *Store) CameraSegmentsBefore(ctx context.Context, camera string, t time.Time, limit int) ([]index.Segment, error) {
	out, err := s.segmentsBefore(ctx, `camera = ?3 AND start_us < ?1`,
		[]any{micros(t), sqlLimit(limit), camera})
	if err != nil {
		return nil, fmt.Errorf("camera segments before: %w", err)
	}
	return out, nil
}

func (s *Store) segmentsBefore(ctx context.Context, where string, args []any) ([]index.Segment, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+segmentColumnsNoFrags+` FROM segments
		WHERE `+where+` ORDER BY start_us, id LIMIT ?2`, args...)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scanSegment)
}

// sqlLimit maps "no limit" to SQLite's LIMIT -1.
func sqlLimit(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}

// AllSegmentPaths implements index.Segments.
func (s *Store) AllSegmentPaths(ctx context.Context) (map[string]int64, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT path, id FROM segments`)
	if err != nil {
		return nil, fmt.Errorf("all segment paths: %w", err)
	}
	defer rows.Close()
	out := make(map[string]int64)
	for rows.Next() {
		var p string
		var id int64
		if err := rows.Scan(&p, &id); err != nil {
			return nil, fmt.Errorf("all segment paths: %w", err)
		}
		out[p] = id
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("all segment paths: %w", err)
	}
	return out, nil
}

// lastImportedQuery walks segments_origin_seq from its top: the literal
// origin != ” lets SQLite use the partial index.
const lastImportedQuery = `SELECT last_seq, end_us FROM segments
	WHERE camera = ? AND origin = ? AND origin != '' AND last_seq > 0
	ORDER BY last_seq DESC LIMIT 1`

// LastImported implements index.Segments with one step down the partial
// index segments_origin_seq (camera, origin, last_seq).
func (s *Store) LastImported(ctx context.Context, camera, origin string) (uint64, time.Time, error) {
	if origin == "" {
		return 0, time.Time{}, fmt.Errorf("last imported: %w", invalidErr("empty origin"))
	}
	var seq, end int64
	err := s.read.QueryRowContext(ctx, lastImportedQuery, camera, origin).Scan(&seq, &end)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("last imported: %w", err)
	}
	return uint64(seq), fromMicros(end), nil
}

// TotalBytes implements index.Segments. It reads the running total that
// triggers keep in segment_stats, so it costs no table scan.
func (s *Store) TotalBytes(ctx context.Context) (int64, error) {
	var n int64
	err := s.read.QueryRowContext(ctx, `SELECT total_bytes FROM segment_stats WHERE id = 1`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("total bytes: %w", err)
	}
	return n, nil
}

func scanSegment(r scanner) (index.Segment, error) {
	var seg index.Segment
	var start, end int64
	var frags []byte
	var firstSeq int64
	err := r.Scan(&seg.ID, &seg.Camera, &start, &end, &seg.Bytes, &seg.Path,
		&seg.State, &seg.InitSize, &seg.Codecs, &seg.Origin, &firstSeq, &frags)
	if err != nil {
		return index.Segment{}, err
	}
	seg.FirstSeq = uint64(firstSeq)
	seg.Start, seg.End = fromMicros(start), fromMicros(end)
	if seg.Fragments, err = decodeFragments(frags); err != nil {
		return index.Segment{}, fmt.Errorf("segment %d: %w", seg.ID, err)
	}
	return seg, nil
}
