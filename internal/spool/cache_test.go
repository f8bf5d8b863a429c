package spool

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// checkCache checks the read cache's invariants: per camera in seq order,
// only unacknowledged fragments still held in a data file, byte counts
// right and within the bounds.
func checkCache(t *testing.T, s *Spool) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var total int64
	for _, c := range s.cams {
		var bytes int64
		held := map[uint64]bool{}
		for _, sf := range c.files {
			for _, e := range sf.entries {
				held[e.Seq] = true
			}
		}
		for i, f := range c.cache {
			if i > 0 && f.seq <= c.cache[i-1].seq {
				t.Fatalf("camera %s: cache out of order at seq %d", c.name, f.seq)
			}
			if f.seq <= c.acked || !held[f.seq] {
				t.Fatalf("camera %s: seq %d cached but acknowledged (%d) or not held", c.name, f.seq, c.acked)
			}
			bytes += int64(cap(f.data))
		}
		if bytes != c.cachedBytes || bytes > max(s.opts.CacheBytes, 0) {
			t.Fatalf("camera %s: %d bytes cached, counted %d, bound %d", c.name, bytes, c.cachedBytes, s.opts.CacheBytes)
		}
		total += bytes
	}
	if total != s.cached || total > s.opts.CacheTotal {
		t.Fatalf("%d bytes cached, counted %d, bound %d", total, s.cached, s.opts.CacheTotal)
	}
}

// cachedSeqs returns a camera's cached seqs.
func cachedSeqs(s *Spool, camera string) []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []uint64
	if c, ok := s.cams[camera]; ok {
		for _, f := range c.cache {
			out = append(out, f.seq)
		}
	}
	return out
}

// A fragment read from memory is what a read from disk returns, and the
// memory copy is what Read serves: the disk is not read (a body damaged on
// disk goes unnoticed with the cache, and is refused without it).
func TestReadCache(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		cache int64
	}{
		{"cached", 0},
		{"no cache", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			init, frags := clipFragments(t, 10, t0)
			dir := t.TempDir()
			opts := Options{Quota: 1 << 30, SyncInterval: time.Hour, CacheBytes: tc.cache}
			s := mustOpen(t, dir, opts)
			seqs := appendAll(t, s, "cam", frags)
			if err := s.Sync(); err != nil {
				t.Fatal(err)
			}
			if got := len(cachedSeqs(s, "cam")); (got == len(frags)) != (tc.cache >= 0) {
				t.Fatalf("%d of %d fragments cached", got, len(frags))
			}
			checkCache(t, s)
			type read struct{ init, data []byte }
			mem := make([]read, len(seqs))
			for i, seq := range seqs {
				gi, gd, err := s.Read("cam", seq)
				if err != nil {
					t.Fatalf("read seq %d: %v", seq, err)
				}
				mem[i] = read{bytes.Clone(gi), bytes.Clone(gd)}
			}

			// Damage the last fragment's body on disk.
			last := s.cams["cam"].files[0].entries[len(frags)-1]
			flipByte(t, lastFile(t, dir), last.off+headerSize+int64(last.Size)/2)
			_, d, err := s.Read("cam", last.Seq)
			if tc.cache >= 0 && (err != nil || !bytes.Equal(d, frags[len(frags)-1].Data)) {
				t.Fatalf("cached read after the disk was damaged: %v (want the appended bytes)", err)
			}
			if tc.cache < 0 && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("uncached read of a damaged fragment: %v, want ErrCorrupt", err)
			}
			flipByte(t, lastFile(t, dir), last.off+headerSize+int64(last.Size)/2) // repaired

			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2 := mustOpen(t, dir, opts)
			if st := s2.Stats(); st.Cached != 0 {
				t.Fatalf("%d bytes cached after reopening", st.Cached)
			}
			for i, seq := range seqs {
				gi, gd, err := s2.Read("cam", seq)
				if err != nil {
					t.Fatalf("read seq %d from disk: %v", seq, err)
				}
				if !bytes.Equal(gi, mem[i].init) || !bytes.Equal(gi, init) || !bytes.Equal(gd, mem[i].data) || !bytes.Equal(gd, frags[i].Data) {
					t.Fatalf("seq %d: disk and memory reads differ", seq)
				}
			}
			checkCache(t, s2)
		})
	}
}

func TestReadCacheBounds(t *testing.T) {
	t.Parallel()
	_, frags := clipFragments(t, 5, t0)
	size, smallest := int64(0), int64(1<<62)
	for _, f := range frags {
		size, smallest = max(size, int64(cap(f.Data))), min(smallest, int64(cap(f.Data)))
	}
	for _, tc := range []struct {
		name        string
		perCam, all int64
		cams        []string
		none        bool // nothing fits
	}{
		{"per camera", 3 * size, 1 << 30, []string{"a"}, false},
		{"total, oldest of any camera first", 1 << 30, 4 * size, []string{"a", "b", "c"}, false},
		{"fragment over the bound", smallest - 1, 1 << 30, []string{"a"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := mustOpen(t, t.TempDir(), Options{Quota: 1 << 30, SyncInterval: time.Hour, CacheBytes: tc.perCam, CacheTotal: tc.all})
			for i, f := range frags {
				firsts := map[string]uint64{}
				for _, cam := range tc.cams {
					if _, err := s.Append(cam, f); err != nil {
						t.Fatal(err)
					}
				}
				checkCache(t, s)
				for _, cam := range tc.cams {
					got := cachedSeqs(s, cam)
					if tc.none != (len(got) == 0) {
						t.Fatalf("after %d appends camera %s caches %v", i+1, cam, got)
					}
					for j, seq := range got { // the newest are kept
						if want := uint64(i+1-len(got)+j) + 1; seq != want {
							t.Fatalf("after %d appends camera %s caches seqs %v, want the newest", i+1, cam, got)
						}
					}
					if len(got) > 0 {
						firsts[cam] = got[0]
					}
				}
				// Frags of the same seq have the same start in every camera:
				// evicting the oldest of all keeps their first cached seqs
				// within one of each other.
				for _, x := range firsts {
					for _, y := range firsts {
						if x > y+1 {
							t.Fatalf("after %d appends first cached seqs %v: not the oldest evicted first", i+1, firsts)
						}
					}
				}
			}
			for _, cam := range tc.cams { // the evicted ones come from disk
				for seq := uint64(1); seq <= uint64(len(frags)); seq++ {
					if _, d, err := s.Read(cam, seq); err != nil || !bytes.Equal(d, frags[seq-1].Data) {
						t.Fatalf("camera %s seq %d: %v", cam, seq, err)
					}
				}
			}
		})
	}
}

func TestReadCacheFreed(t *testing.T) {
	t.Parallel()
	_, frags := clipFragments(t, 1, t0)
	total := 0
	for _, f := range frags {
		total += len(f.Data) + headerSize
	}

	t.Run("ack", func(t *testing.T) {
		t.Parallel()
		s := mustOpen(t, t.TempDir(), Options{Quota: 1 << 30, SyncInterval: time.Hour})
		appendAll(t, s, "cam", frags[:10])
		if err := s.Ack("cam", 4); err != nil {
			t.Fatal(err)
		}
		checkCache(t, s)
		if got := cachedSeqs(s, "cam"); len(got) != 6 || got[0] != 5 {
			t.Fatalf("after Ack(4) cached seqs %v, want 5..10", got)
		}
		if err := s.Ack("cam", 10); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Cached != 0 {
			t.Fatalf("%d bytes cached after acking everything", st.Cached)
		}
	})

	t.Run("quota drop", func(t *testing.T) {
		t.Parallel()
		s := mustOpen(t, t.TempDir(), Options{Quota: int64(total / 3), SegmentBytes: int64(total / 12)})
		for _, f := range frags {
			for _, cam := range []string{"a", "b"} {
				if _, err := s.Append(cam, f); err != nil {
					t.Fatal(err)
				}
			}
			checkCache(t, s) // only fragments still held
		}
		if st := s.Stats(); st.DroppedTotal == 0 || st.Cached == 0 {
			t.Fatalf("dropped %d, cached %d bytes: want both", st.DroppedTotal, st.Cached)
		}
	})

	t.Run("fragment over quota", func(t *testing.T) {
		t.Parallel()
		s := mustOpen(t, t.TempDir(), Options{Quota: 100})
		if _, err := s.Append("cam", frags[0]); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.DroppedTotal != 1 || st.Cached != 0 {
			t.Fatalf("dropped %d, cached %d bytes: want 1 and none", st.DroppedTotal, st.Cached)
		}
	})
}

// Cameras append while an uploader per camera reads what is pending and
// acknowledges it, as a gateway does.
func TestReadCacheConcurrent(t *testing.T) {
	t.Parallel()
	_, frags := clipFragments(t, 2, t0)
	s := mustOpen(t, t.TempDir(), Options{Quota: 1 << 30, SegmentBytes: 1 << 18, SyncInterval: 2 * time.Millisecond,
		CacheBytes: 4 * int64(cap(frags[0].Data)), CacheTotal: 10 * int64(cap(frags[0].Data))})
	const cams = 4
	var wg sync.WaitGroup
	for i := range cams {
		cam := fmt.Sprintf("cam-%d", i)
		var failed atomic.Bool
		wg.Go(func() {
			for _, f := range frags {
				if _, err := s.Append(cam, f); err != nil {
					failed.Store(true)
					t.Error(err)
					return
				}
			}
		})
		wg.Go(func() {
			var last uint64
			for last < uint64(len(frags)) && !failed.Load() {
				p, err := s.Pending(cam, last, 8)
				if err != nil {
					t.Error(err)
					return
				}
				for _, e := range p {
					_, d, err := s.Read(cam, e.Seq)
					if err != nil || !bytes.Equal(d, frags[e.Seq-1].Data) {
						t.Errorf("camera %s seq %d: %v or other bytes", cam, e.Seq, err)
						return
					}
					last = e.Seq
				}
				if len(p) > 0 {
					if err := s.Ack(cam, last); err != nil {
						t.Error(err)
						return
					}
				} else {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	checkCache(t, s)
	if st := s.Stats(); st.Cached != 0 || st.Fragments != 0 {
		t.Fatalf("all acknowledged, yet %d fragments held, %d bytes cached", st.Fragments, st.Cached)
	}
}
