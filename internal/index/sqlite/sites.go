package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

const siteColumns = `id, name, region, created_us, updated_us`

// CreateSite implements index.Sites. CreatedAt and UpdatedAt are set to now.
func (s *Store) CreateSite(ctx context.Context, site index.Site) (index.Site, error) {
	if site.ID == "" {
		return index.Site{}, fmt.Errorf("create site: %w", invalidErr("empty id"))
	}
	now := fromMicros(micros(time.Now()))
	site.CreatedAt, site.UpdatedAt = now, now
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO sites (`+siteColumns+`) VALUES (?, ?, ?, ?, ?)`,
		site.ID, site.Name, site.Region, micros(now), micros(now))
	if isUnique(err) {
		return index.Site{}, fmt.Errorf("create site: %w", conflictErr("site "+site.ID))
	}
	if err != nil {
		return index.Site{}, fmt.Errorf("create site: %w", err)
	}
	return site, nil
}

// GetSite implements index.Sites.
func (s *Store) GetSite(ctx context.Context, id string) (index.Site, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+siteColumns+` FROM sites WHERE id = ?`, id)
	site, err := scanSite(row)
	if err != nil {
		return index.Site{}, fmt.Errorf("get site: %w", notFound(err, "site "+id))
	}
	return site, nil
}

// ListSites implements index.Sites.
func (s *Store) ListSites(ctx context.Context) ([]index.Site, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+siteColumns+` FROM sites ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	out, err := scanAll(rows, scanSite)
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	return out, nil
}

// UpdateSite implements index.Sites: it overwrites Name and Region and sets
// UpdatedAt to now; CreatedAt is kept.
func (s *Store) UpdateSite(ctx context.Context, site index.Site) (index.Site, error) {
	var out index.Site
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE sites SET name = ?, region = ?, updated_us = ? WHERE id = ?`,
			site.Name, site.Region, micros(time.Now()), site.ID)
		if err := rowsAffectedOrNotFound(res, err); err != nil {
			return notFound(err, "site "+site.ID)
		}
		row := tx.QueryRowContext(ctx, `SELECT `+siteColumns+` FROM sites WHERE id = ?`, site.ID)
		out, err = scanSite(row)
		return err
	})
	if err != nil {
		return index.Site{}, fmt.Errorf("update site: %w", err)
	}
	return out, nil
}

// DeleteSite implements index.Sites.
func (s *Store) DeleteSite(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM cameras WHERE site = ?`, id).Scan(&n)
		if err != nil {
			return err
		}
		if n > 0 {
			return conflictErr(fmt.Sprintf("site %s is used by %d cameras", id, n))
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sites WHERE id = ?`, id)
		return notFound(rowsAffectedOrNotFound(res, err), "site "+id)
	})
	if err != nil {
		return fmt.Errorf("delete site: %w", err)
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanSite(r scanner) (index.Site, error) {
	var site index.Site
	var created, updated int64
	if err := r.Scan(&site.ID, &site.Name, &site.Region, &created, &updated); err != nil {
		return index.Site{}, err
	}
	site.CreatedAt, site.UpdatedAt = fromMicros(created), fromMicros(updated)
	return site, nil
}

// scanAll scans every row with scan and closes rows.
func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
