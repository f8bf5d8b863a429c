package spool

import (
	"sort"
	"time"
)

// The read cache: a caught-up camera's uploader reads each fragment about
// a second after Append, so each camera keeps its most recently appended
// fragments' Data (the caller's slice, not a copy) until they are
// acknowledged, and Read serves them without a pread and checksum. It is
// bounded per camera (Options.CacheBytes) and in total
// (Options.CacheTotal), evicting the oldest fragments first; a fragment
// dropped for the quota, or never written, is not cached. After a restart
// or an eviction (a backlog) Read goes to the disk. All of it runs with
// s.mu held.

// cachedFrag is one cached fragment.
type cachedFrag struct {
	seq   uint64
	start int64 // UnixNano, to find the oldest of all cameras
	data  []byte
}

// cachePut caches a fragment just appended to c (seqs ascending).
func (s *Spool) cachePut(c *camState, seq uint64, start time.Time, data []byte) {
	size := int64(cap(data))
	if s.opts.CacheBytes < 0 || size > s.opts.CacheBytes || size > s.opts.CacheTotal {
		return
	}
	c.cache = append(c.cache, cachedFrag{seq: seq, start: start.UnixNano(), data: data})
	c.cachedBytes += size
	s.cached += size
	for c.cachedBytes > s.opts.CacheBytes {
		s.evictOldest(c)
	}
	for s.cached > s.opts.CacheTotal {
		s.evictOldest(s.oldestCached())
	}
}

// cacheGet returns a cached fragment's data, or nil.
func (s *Spool) cacheGet(c *camState, seq uint64) []byte {
	i := sort.Search(len(c.cache), func(i int) bool { return c.cache[i].seq >= seq })
	if i < len(c.cache) && c.cache[i].seq == seq {
		return c.cache[i].data
	}
	return nil
}

// evictOldest drops c's oldest cached fragment.
func (s *Spool) evictOldest(c *camState) {
	size := int64(cap(c.cache[0].data))
	c.cachedBytes -= size
	s.cached -= size
	c.cache[0] = cachedFrag{} // the slice's array no longer holds the bytes
	c.cache = c.cache[1:]
	if len(c.cache) == 0 {
		c.cache = nil
	}
}

// oldestCached returns the camera whose oldest cached fragment is the
// oldest of all; s.cached > 0.
func (s *Spool) oldestCached() *camState {
	var best *camState
	for _, c := range s.cams {
		if len(c.cache) > 0 && (best == nil || c.cache[0].start < best.cache[0].start) {
			best = c
		}
	}
	return best
}

// uncache drops c's cached fragments up to seq upTo (acknowledged).
func (s *Spool) uncache(c *camState, upTo uint64) {
	for len(c.cache) > 0 && c.cache[0].seq <= upTo {
		s.evictOldest(c)
	}
}

// uncacheRange drops c's cached fragments with seqs in [first, last] (a
// data file dropped for the quota).
func (s *Spool) uncacheRange(c *camState, first, last uint64) {
	kept := c.cache[:0]
	for _, f := range c.cache {
		if f.seq >= first && f.seq <= last {
			size := int64(cap(f.data))
			c.cachedBytes -= size
			s.cached -= size
			continue
		}
		kept = append(kept, f)
	}
	clear(c.cache[len(kept):])
	c.cache = kept
}
