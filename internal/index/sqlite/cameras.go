package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

const cameraColumns = `id, name, site, source, transport, record, retention_days, analytics, created_us, updated_us, source_secret`

// CreateCamera implements index.Cameras. CreatedAt and UpdatedAt are set to
// now and an empty Analytics is stored as "{}".
func (s *Store) CreateCamera(ctx context.Context, c index.Camera) (index.Camera, error) {
	if c.ID == "" {
		return index.Camera{}, fmt.Errorf("create camera: %w", invalidErr("empty id"))
	}
	now := fromMicros(micros(time.Now()))
	c.CreatedAt, c.UpdatedAt, c.Analytics = now, now, jsonOrEmpty(c.Analytics)
	src, secret, err := s.sealSource(c.Source)
	if err != nil {
		return index.Camera{}, fmt.Errorf("create camera: %w", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := siteExists(ctx, tx, c.Site); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO cameras (`+cameraColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Name, nullString(c.Site), src, c.Transport, c.Record,
			c.RetentionDays, c.Analytics, micros(now), micros(now), secret)
		if isUnique(err) {
			return conflictErr("camera " + c.ID)
		}
		return err
	})
	if err != nil {
		return index.Camera{}, fmt.Errorf("create camera: %w", err)
	}
	return c, nil
}

// siteExists returns a wrapped index.ErrNotFound naming the site when id
// is set and has no row.
func siteExists(ctx context.Context, tx *sql.Tx, id string) error {
	if id == "" {
		return nil
	}
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM sites WHERE id = ?`, id).Scan(&one)
	return notFound(err, "site "+id)
}

// GetCamera implements index.Cameras.
func (s *Store) GetCamera(ctx context.Context, id string) (index.Camera, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+cameraColumns+` FROM cameras WHERE id = ?`, id)
	c, err := s.scanCamera(row)
	if err != nil {
		return index.Camera{}, fmt.Errorf("get camera: %w", notFound(err, "camera "+id))
	}
	return c, nil
}

// ListCameras implements index.Cameras.
func (s *Store) ListCameras(ctx context.Context) ([]index.Camera, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+cameraColumns+` FROM cameras ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list cameras: %w", err)
	}
	out, err := scanAll(rows, s.scanCamera)
	if err != nil {
		return nil, fmt.Errorf("list cameras: %w", err)
	}
	return out, nil
}

// UpdateCamera implements index.Cameras: every field but CreatedAt is
// overwritten and UpdatedAt is set to now. It returns a wrapped
// index.ErrNotFound for an unknown camera or site.
func (s *Store) UpdateCamera(ctx context.Context, c index.Camera) (index.Camera, error) {
	var out index.Camera
	src, secret, err := s.sealSource(c.Source)
	if err != nil {
		return index.Camera{}, fmt.Errorf("update camera: %w", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := siteExists(ctx, tx, c.Site); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE cameras SET name = ?, site = ?, source = ?,
			transport = ?, record = ?, retention_days = ?, analytics = ?, updated_us = ?,
			source_secret = ? WHERE id = ?`,
			c.Name, nullString(c.Site), src, c.Transport, c.Record, c.RetentionDays,
			jsonOrEmpty(c.Analytics), micros(time.Now()), secret, c.ID)
		if err := rowsAffectedOrNotFound(res, err); err != nil {
			return notFound(err, "camera "+c.ID)
		}
		out, err = s.scanCamera(tx.QueryRowContext(ctx,
			`SELECT `+cameraColumns+` FROM cameras WHERE id = ?`, c.ID))
		return err
	})
	if err != nil {
		return index.Camera{}, fmt.Errorf("update camera: %w", err)
	}
	return out, nil
}

// DeleteCamera implements index.Cameras.
func (s *Store) DeleteCamera(ctx context.Context, id string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM cameras WHERE id = ?`, id)
	if err := rowsAffectedOrNotFound(res, err); err != nil {
		return fmt.Errorf("delete camera: %w", notFound(err, "camera "+id))
	}
	return nil
}

func (s *Store) scanCamera(r scanner) (index.Camera, error) {
	var c index.Camera
	var site sql.NullString
	var created, updated int64
	var secret string
	err := r.Scan(&c.ID, &c.Name, &site, &c.Source, &c.Transport, &c.Record,
		&c.RetentionDays, &c.Analytics, &created, &updated, &secret)
	if err != nil {
		return index.Camera{}, err
	}
	if c.Source, err = s.openSource(c.ID, c.Source, secret); err != nil {
		return index.Camera{}, err
	}
	c.Site = site.String
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, nil
}
