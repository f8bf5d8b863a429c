package spool

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lockDir takes an exclusive lock on the spool directory so two gateways
// never share it.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock (another process uses this spool?): %w", err)
	}
	return f, nil
}

// recover rebuilds the in-memory index from every camera directory.
func (s *Spool) recover() error {
	des, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	for _, de := range des {
		if !de.IsDir() || !strings.HasPrefix(de.Name(), "c-") {
			continue
		}
		name, err := hex.DecodeString(strings.TrimPrefix(de.Name(), "c-"))
		if err != nil || len(name) == 0 {
			s.log.Warn("spool: ignoring unknown directory", "dir", de.Name())
			continue
		}
		c := newCam(string(name), filepath.Join(s.dir, de.Name()))
		if err := s.recoverCamera(c); err != nil {
			return fmt.Errorf("camera %s: %w", name, err)
		}
		s.cams[c.name] = c
	}
	return nil
}

func (s *Spool) recoverCamera(c *camState) error {
	st, err := loadState(c.dir)
	if err != nil {
		return err
	}
	c.acked, c.lastGone, c.dropped, c.ranges = st.Acked, max(st.LastGone, st.Acked), st.Dropped, st.Ranges
	_ = os.Remove(filepath.Join(c.dir, stateFile+".tmp"))
	names, err := filepath.Glob(filepath.Join(c.dir, "*.seg"))
	if err != nil {
		return fmt.Errorf("list data files: %w", err)
	}
	sort.Strings(names)
	maxSeq := c.lastGone
	for _, path := range names {
		sf, err := s.recoverFile(c, path)
		if err != nil {
			return err
		}
		if sf == nil {
			continue
		}
		if n := len(sf.entries); n > 0 {
			maxSeq = max(maxSeq, sf.entries[n-1].Seq)
		}
		if n := len(sf.entries); n == 0 || sf.entries[n-1].Seq <= c.acked {
			// Everything in it was acknowledged (or it holds nothing).
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("remove freed %s: %w", path, err)
			}
			continue
		}
		c.files = append(c.files, sf)
		s.bytes += sf.size
	}
	for id := range c.inits {
		c.curInit = max(c.curInit, id)
	}
	c.nextSeq = maxSeq + 1
	c.durable = maxSeq
	return nil
}

// recoverFile scans one data file: it truncates a torn or unreadable tail
// and keeps body-damaged fragments as corrupt entries.
func (s *Spool) recoverFile(c *camState, path string) (*segFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) < len(fileMagic) || string(b[:len(fileMagic)]) != fileMagic {
		s.log.Warn("spool: removing data file without header (torn at creation)", "path", path, "bytes", len(b))
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove %s: %w", path, err)
		}
		return nil, nil
	}
	sf := &segFile{path: path, inits: map[uint32]bool{}}
	off := len(fileMagic)
	for off < len(b) {
		n, err := s.recoverRecord(c, sf, b[off:], int64(off))
		if err != nil {
			s.log.Warn("spool: truncating data file tail", "path", path, "at", off, "lost_bytes", len(b)-off, "err", err)
			if err := truncate(path, int64(off)); err != nil {
				return nil, err
			}
			break
		}
		off += n
	}
	sf.size = int64(off)
	if len(sf.entries) > 0 {
		sf.hour = sf.entries[0].Start.Unix() / 3600
	}
	sortEntries(sf.entries)
	return sf, nil
}

// recoverRecord indexes one record and returns its size; an error means the
// rest of the file cannot be trusted.
func (s *Spool) recoverRecord(c *camState, sf *segFile, b []byte, off int64) (int, error) {
	h, body, n, err := decodeRecord(b)
	if n == 0 {
		return 0, err
	}
	switch h.Type {
	case recInit:
		id := uint32(h.Seq)
		sf.inits[id] = true
		if err != nil {
			s.log.Warn("spool: corrupt init block", "camera", c.name, "init", id, "path", sf.path, "err", err)
			if _, ok := c.inits[id]; !ok {
				c.badInits[id] = true
			}
			return n, nil
		}
		c.inits[id] = append([]byte(nil), body...)
		delete(c.badInits, id)
	case recFragment:
		if h.Seq <= c.acked {
			return n, nil
		}
		e := entryLoc{off: off, Entry: Entry{Camera: c.name, Seq: h.Seq, Start: time.Unix(0, h.Start),
			Duration: time.Duration(h.Duration), Key: h.Flags&flagKey != 0, InitID: h.InitID, Size: int(h.Length)}}
		if err != nil {
			e.Corrupt = true
			s.log.Warn("spool: corrupt fragment", "camera", c.name, "seq", h.Seq, "path", sf.path, "offset", off, "err", err)
		}
		sf.entries = append(sf.entries, e)
	}
	return n, nil
}

func truncate(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("truncate %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("truncate %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("truncate %s: %w", path, err)
	}
	return nil
}
