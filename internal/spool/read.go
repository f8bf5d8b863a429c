package spool

import (
	"fmt"
	"maps"
	"os"
	"sort"
	"time"
)

// Pending returns up to limit durable, unacknowledged entries of camera
// with seq > after, in seq order. Corrupt entries are listed (Corrupt set)
// so the caller can report them as gaps; fragments lost to the quota are
// not listed (see Stats.DroppedRanges).
func (s *Spool) Pending(camera string, after uint64, limit int) ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	c, ok := s.cams[camera]
	if !ok {
		return nil, nil
	}
	after = max(after, c.acked)
	var out []Entry
	for _, sf := range c.files {
		if n := len(sf.entries); n == 0 || sf.entries[n-1].Seq <= after {
			continue
		}
		i := sort.Search(len(sf.entries), func(i int) bool { return sf.entries[i].Seq > after })
		for _, e := range sf.entries[i:] {
			if e.Seq > c.durable || (limit > 0 && len(out) >= limit) {
				return out, nil
			}
			out = append(out, e.Entry)
		}
	}
	return out, nil
}

// Read returns the init block and the moof+mdat bytes of one spooled
// fragment: a recently appended one from memory (see Options.CacheBytes),
// others from disk, verified against their checksums. A damaged fragment
// returns an error wrapping ErrCorrupt that names it; a freed or unknown
// one ErrNotFound. The returned slices are shared: do not modify them.
func (s *Spool) Read(camera string, seq uint64) (init, data []byte, err error) {
	s.mu.Lock()
	loc, path, init, err := s.locate(camera, seq)
	if err == nil {
		data = s.cacheGet(s.cams[camera], seq)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	if data != nil {
		return init, data, nil
	}
	name := fmt.Sprintf("camera %s seq %d (%s@%d)", camera, seq, path, loc.off)
	if loc.Corrupt {
		return nil, nil, fmt.Errorf("read %s: %w", name, ErrCorrupt)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", name, err)
	}
	defer f.Close()
	buf := make([]byte, headerSize+loc.Size)
	if _, err := f.ReadAt(buf, loc.off); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", name, err)
	}
	h, body, _, err := decodeRecord(buf)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w: %w", name, ErrCorrupt, err)
	}
	if h.Type != recFragment || h.Seq != seq {
		return nil, nil, fmt.Errorf("read %s: %w: record is type %d seq %d", name, ErrCorrupt, h.Type, h.Seq)
	}
	return init, body, nil
}

// locate finds a fragment's file and offset; s.mu held.
func (s *Spool) locate(camera string, seq uint64) (entryLoc, string, []byte, error) {
	if s.closed {
		return entryLoc{}, "", nil, ErrClosed
	}
	c, ok := s.cams[camera]
	if !ok || seq <= c.acked || seq >= c.nextSeq {
		return entryLoc{}, "", nil, fmt.Errorf("read camera %s seq %d: %w", camera, seq, ErrNotFound)
	}
	i := sort.Search(len(c.files), func(i int) bool {
		es := c.files[i].entries
		return len(es) > 0 && es[len(es)-1].Seq >= seq
	})
	if i == len(c.files) {
		return entryLoc{}, "", nil, fmt.Errorf("read camera %s seq %d: %w", camera, seq, ErrNotFound)
	}
	sf := c.files[i]
	j := sort.Search(len(sf.entries), func(j int) bool { return sf.entries[j].Seq >= seq })
	if j == len(sf.entries) || sf.entries[j].Seq != seq {
		return entryLoc{}, "", nil, fmt.Errorf("read camera %s seq %d: %w", camera, seq, ErrNotFound)
	}
	loc := sf.entries[j]
	if c.badInits[loc.InitID] {
		return entryLoc{}, "", nil, fmt.Errorf("read camera %s seq %d: init %d: %w", camera, seq, loc.InitID, ErrCorrupt)
	}
	init, ok := c.inits[loc.InitID]
	if !ok {
		return entryLoc{}, "", nil, fmt.Errorf("read camera %s seq %d: init %d missing: %w", camera, seq, loc.InitID, ErrCorrupt)
	}
	return loc, sf.path, init, nil
}

// Stats returns a snapshot of the spool.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Bytes: s.bytes, Dropped: map[string]uint64{}, Cached: s.cached}
	for _, c := range s.cams {
		if c.dropped > 0 {
			st.Dropped[c.name] = c.dropped
			st.DroppedTotal += c.dropped
		}
		st.DroppedRanges = append(st.DroppedRanges, c.ranges...)
		for _, sf := range c.files {
			i := sort.Search(len(sf.entries), func(i int) bool { return sf.entries[i].Seq > c.acked })
			if i == len(sf.entries) {
				continue
			}
			st.Fragments += len(sf.entries) - i
			if start := sf.entries[i].Start; st.OldestPending.IsZero() || start.Before(st.OldestPending) {
				st.OldestPending = start
			}
		}
	}
	sort.Slice(st.DroppedRanges, func(i, j int) bool { return st.DroppedRanges[i].Start.Before(st.DroppedRanges[j].Start) })
	return st
}

// Cameras lists the cameras the spool holds state for.
func (s *Spool) Cameras() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := sortedKeys(s.cams)
	return out
}

func sortedKeys(m map[string]*camState) []string {
	out := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Backlog summarises a camera's unacknowledged fragments.
type Backlog struct {
	Fragments int
	Bytes     int64     // of their moof+mdat
	Start     time.Time // of the oldest
	End       time.Time // end of the newest
}

// Backlog returns the camera's unacknowledged fragments in summary, durable
// or not, without listing them (a gateway reports it every few seconds,
// also with days of backlog).
func (s *Spool) Backlog(camera string) Backlog {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b Backlog
	c, ok := s.cams[camera]
	if !ok || s.closed {
		return b
	}
	for _, sf := range c.files {
		if n := len(sf.entries); n == 0 || sf.entries[n-1].Seq <= c.acked {
			continue
		}
		i := sort.Search(len(sf.entries), func(i int) bool { return sf.entries[i].Seq > c.acked })
		if b.Fragments == 0 {
			b.Start = sf.entries[i].Start
		}
		for _, e := range sf.entries[i:] {
			b.Bytes += int64(e.Size)
		}
		b.Fragments += len(sf.entries) - i
		last := sf.entries[len(sf.entries)-1]
		b.End = last.Start.Add(last.Duration)
	}
	return b
}
