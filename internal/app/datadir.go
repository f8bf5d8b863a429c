package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// dataDir is an opened, locked data directory.
type dataDir struct {
	root string
	lock *os.File
}

// openDataDir creates the layout and takes an exclusive lock so two hubs
// never write the same recordings.
func openDataDir(root string) (*dataDir, error) {
	if err := os.MkdirAll(filepath.Join(root, "recordings"), 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(root, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open data dir lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("data dir %s is in use by another vigil process", root)
		}
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	return &dataDir{root: root, lock: f}, nil
}

func (d *dataDir) indexPath() string      { return filepath.Join(d.root, "vigil.db") }
func (d *dataDir) recordingsPath() string { return filepath.Join(d.root, "recordings") }

// secretsKeyPath is the key that seals camera credentials in the index
// (kept outside it; created 0600 in a 0700 keys/ directory).
func (d *dataDir) secretsKeyPath() string { return filepath.Join(d.root, "keys", "secrets.key") }

// tlsDir holds the generated TLS certificate (cert.pem, key.pem).
func (d *dataDir) tlsDir() string { return filepath.Join(d.root, "tls") }

func (d *dataDir) close() { d.lock.Close() }
