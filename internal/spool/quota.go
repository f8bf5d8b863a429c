package spool

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// makeRoom drops the oldest files until need more bytes fit the quota. It
// reports false when even an empty spool cannot hold them. s.mu held.
func (s *Spool) makeRoom(need int64) bool {
	for s.bytes+need > s.opts.Quota {
		c, i := s.oldestFile()
		if c == nil {
			return false
		}
		s.dropFile(c, i)
	}
	return true
}

// oldestFile finds the file whose first fragment is the oldest of all.
func (s *Spool) oldestFile() (*camState, int) {
	var best *camState
	bi := 0
	var bestStart int64
	for _, c := range s.cams {
		for i, sf := range c.files {
			start := int64(1<<63 - 1)
			if len(sf.entries) > 0 {
				start = sf.entries[0].Start.UnixNano()
			}
			if best == nil || start < bestStart {
				best, bi, bestStart = c, i, start
			}
			break // a camera's first file is its oldest
		}
	}
	return best, bi
}

// dropFile deletes a camera's file, counting its unacknowledged entries as
// lost. s.mu held.
func (s *Spool) dropFile(c *camState, i int) {
	sf := c.files[i]
	if sf == c.active {
		s.roll(c)
	}
	if n := len(sf.entries); n > 0 {
		s.uncacheRange(c, sf.entries[0].Seq, sf.entries[n-1].Seq)
	}
	var lost []Entry
	for _, e := range sf.entries {
		if e.Seq > c.acked {
			lost = append(lost, e.Entry)
		}
	}
	if len(lost) > 0 {
		c.noteLost(lost)
		if err := s.saveState(c); err != nil {
			s.log.Error("save spool state", "camera", c.name, "err", err)
		}
		s.log.Warn("spool quota reached: dropped oldest fragments", "camera", c.name,
			"fragments", len(lost), "from", lost[0].Start, "to", lost[len(lost)-1].Start)
	}
	s.removeFile(c, i)
}

// dropOne counts a fragment that could not be stored at all as lost.
func (s *Spool) dropOne(c *camState, e Entry) {
	c.noteLost([]Entry{e})
	if err := s.saveState(c); err != nil {
		s.log.Error("save spool state", "camera", c.name, "err", err)
	}
	s.log.Warn("spool quota too small for fragment: dropped", "camera", c.name, "seq", e.Seq, "bytes", e.Size)
}

func (c *camState) noteLost(lost []Entry) {
	first, last := lost[0], lost[len(lost)-1]
	c.dropped += uint64(len(lost))
	c.lastGone = max(c.lastGone, last.Seq)
	r := Range{Camera: c.name, FirstSeq: first.Seq, LastSeq: last.Seq, Start: first.Start, End: last.Start.Add(last.Duration)}
	if n := len(c.ranges); n > 0 && c.ranges[n-1].LastSeq+1 == r.FirstSeq {
		c.ranges[n-1].LastSeq, c.ranges[n-1].End = r.LastSeq, r.End
		return
	}
	c.ranges = append(c.ranges, r)
}

// removeFile deletes file i of c and forgets it. s.mu held.
func (s *Spool) removeFile(c *camState, i int) {
	sf := c.files[i]
	if err := os.Remove(sf.path); err != nil && !os.IsNotExist(err) {
		s.log.Error("remove spool file", "path", sf.path, "err", err)
	}
	s.bytes -= sf.size
	c.files = append(c.files[:i], c.files[i+1:]...)
}

// Ack records that the hub durably stored every fragment of camera up to
// seq upTo, so their bytes may be freed. Acking again or lower is a no-op;
// acking beyond the last appended seq is an error.
func (s *Spool) Ack(camera string, upTo uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	c, ok := s.cams[camera]
	if !ok || upTo >= c.nextSeq {
		last := uint64(0)
		if ok {
			last = c.nextSeq - 1
		}
		return fmt.Errorf("ack %s up to %d: beyond last spooled seq %d", camera, upTo, last)
	}
	if upTo <= c.acked {
		return nil
	}
	c.acked = upTo
	c.lastGone = max(c.lastGone, upTo)
	s.uncache(c, upTo)
	if err := s.saveState(c); err != nil {
		return fmt.Errorf("ack %s up to %d: %w", camera, upTo, err)
	}
	for len(c.files) > 0 {
		sf := c.files[0]
		if sf == c.active || len(sf.entries) > 0 && sf.entries[len(sf.entries)-1].Seq > upTo {
			break
		}
		s.removeFile(c, 0)
	}
	return nil
}

// state is a camera's state file (JSON, replaced atomically).
type state struct {
	Camera   string  `json:"camera"`
	Acked    uint64  `json:"acked"`
	LastGone uint64  `json:"last_gone"`
	Dropped  uint64  `json:"dropped"`
	Ranges   []Range `json:"ranges,omitempty"`
}

const stateFile = "state.json"

// saveState writes c's state file: tmp, fsync, rename, fsync dir.
func (s *Spool) saveState(c *camState) error {
	b, err := json.Marshal(state{Camera: c.name, Acked: c.acked, LastGone: c.lastGone, Dropped: c.dropped, Ranges: c.ranges})
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp := filepath.Join(c.dir, stateFile+".tmp")
	if err := writeSynced(tmp, b); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, stateFile)); err != nil {
		return fmt.Errorf("replace state: %w", err)
	}
	return syncDir(c.dir)
}

// writeSynced writes b to a new file at path and fsyncs it.
func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func loadState(dir string) (state, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if os.IsNotExist(err) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("decode state %s: %w", filepath.Join(dir, stateFile), err)
	}
	return st, nil
}

// ForgetDropped removes the camera's lost ranges that end at or before seq
// throughSeq, once they have been reported to the hub as gaps. Drop counts
// are kept.
func (s *Spool) ForgetDropped(camera string, throughSeq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	c, ok := s.cams[camera]
	if !ok {
		return nil
	}
	kept := c.ranges[:0]
	for _, r := range c.ranges {
		if r.LastSeq > throughSeq {
			kept = append(kept, r)
		}
	}
	if len(kept) == len(c.ranges) {
		return nil
	}
	c.ranges = kept
	if err := s.saveState(c); err != nil {
		return fmt.Errorf("forget dropped ranges of %s: %w", camera, err)
	}
	return nil
}
