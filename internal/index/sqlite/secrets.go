package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Sealer encrypts and decrypts small secrets (a *secrets.Box).
type Sealer interface {
	Seal(plaintext []byte) (string, error)
	Open(sealed string) ([]byte, error)
}

// Option configures Open.
type Option func(*Store)

// WithSecrets makes the store keep the credentials of camera source URLs
// (their userinfo) sealed with box: the cameras table holds the URL
// without them and the sealed value in source_secret. At Open, plaintext
// credentials left by earlier versions are sealed in place, and sealed
// ones that do not open with box make Open fail.
//
// Without it, credentials are stored as given, and reading a camera whose
// credentials are sealed is an error (they are never silently dropped).
func WithSecrets(box Sealer) Option { return func(s *Store) { s.box = box } }

// ErrNoSecretsKey is returned when a camera's credentials are sealed but
// the store has no key (see WithSecrets).
var ErrNoSecretsKey = errors.New("camera credentials are encrypted but the index was opened without the secrets key")

// splitUserinfo cuts the userinfo out of a URL string, keeping every other
// byte as given: "rtsp://u:p@h/x" -> "rtsp://h/x", "u:p".
func splitUserinfo(src string) (bare, userinfo string) {
	i := strings.Index(src, "://")
	if i < 0 {
		return src, ""
	}
	start := i + 3
	end := len(src)
	if j := strings.IndexAny(src[start:], "/?#"); j >= 0 {
		end = start + j
	}
	at := strings.LastIndex(src[start:end], "@")
	if at < 0 {
		return src, ""
	}
	return src[:start] + src[start+at+1:], src[start : start+at]
}

// joinUserinfo is the inverse of splitUserinfo.
func joinUserinfo(bare, userinfo string) string {
	i := strings.Index(bare, "://")
	if i < 0 || userinfo == "" {
		return bare
	}
	return bare[:i+3] + userinfo + "@" + bare[i+3:]
}

// sealSource returns the source and source_secret columns for a source.
func (s *Store) sealSource(src string) (string, string, error) {
	if s.box == nil {
		return src, "", nil
	}
	bare, ui := splitUserinfo(src)
	if ui == "" {
		return src, "", nil
	}
	sealed, err := s.box.Seal([]byte(ui))
	if err != nil {
		return "", "", fmt.Errorf("seal camera credentials: %w", err)
	}
	return bare, sealed, nil
}

// openSource rebuilds a source URL from its columns.
func (s *Store) openSource(id, bare, sealed string) (string, error) {
	if sealed == "" {
		return bare, nil
	}
	if s.box == nil {
		return "", fmt.Errorf("camera %s: %w", id, ErrNoSecretsKey)
	}
	ui, err := s.box.Open(sealed)
	if err != nil {
		return "", fmt.Errorf("camera %s credentials: %w", id, err)
	}
	return joinUserinfo(bare, string(ui)), nil
}

// sealStoredSources seals the plaintext credentials of every camera and
// checks that already sealed ones open with the key. It is idempotent.
func (s *Store) sealStoredSources(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, source, source_secret FROM cameras ORDER BY id`)
		if err != nil {
			return err
		}
		type row struct{ id, source, secret string }
		var all []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.source, &r.secret); err != nil {
				rows.Close()
				return err
			}
			all = append(all, r)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, r := range all {
			if r.secret != "" {
				if _, err := s.openSource(r.id, r.source, r.secret); err != nil {
					return err
				}
				continue
			}
			bare, sealed, err := s.sealSource(r.source)
			if err != nil || sealed == "" {
				if err != nil {
					return fmt.Errorf("camera %s: %w", r.id, err)
				}
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE cameras SET source = ?, source_secret = ? WHERE id = ?`,
				bare, sealed, r.id); err != nil {
				return err
			}
		}
		return nil
	})
}
