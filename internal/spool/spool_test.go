package spool

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		per     int // frames per fragment
		segSize int64
		ackAt   int // ack up to this many fragments
	}{
		{"1s fragments, one file", 10, 0, 3},
		{"single-frame fragments, many small files", 1, 1 << 16, 40},
		{"ack nothing", 10, 0, 0},
		{"ack all", 10, 1 << 16, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			init, frags := clipFragments(t, tc.per, t0)
			dir := t.TempDir()
			s := mustOpen(t, dir, Options{Quota: 1 << 30, SegmentBytes: tc.segSize, SyncInterval: time.Hour})
			seqs := appendAll(t, s, "cam-a", frags)
			for i, seq := range seqs {
				if seq != uint64(i+1) {
					t.Fatalf("seq %d = %d, want %d", i, seq, i+1)
				}
			}
			if p, _ := s.Pending("cam-a", 0, 0); len(p) != 0 {
				t.Fatalf("Pending before sync = %d entries, want 0 (not durable yet)", len(p))
			}
			if err := s.Sync(); err != nil {
				t.Fatal(err)
			}
			ack := tc.ackAt
			if ack < 0 {
				ack = len(frags)
			}
			if ack > 0 {
				if err := s.Ack("cam-a", uint64(ack)); err != nil {
					t.Fatal(err)
				}
				if err := s.Ack("cam-a", uint64(ack)); err != nil {
					t.Fatalf("second ack: %v (want idempotent)", err)
				}
			}
			check := func(s *Spool) {
				t.Helper()
				p, err := s.Pending("cam-a", 0, 0)
				if err != nil {
					t.Fatal(err)
				}
				if len(p) != len(frags)-ack {
					t.Fatalf("Pending = %d entries, want %d", len(p), len(frags)-ack)
				}
				for i, e := range p {
					f := frags[ack+i]
					if e.Seq != uint64(ack+i+1) || !e.Start.Equal(f.Start) || e.Duration != f.Duration || e.Key != f.Key || e.Size != len(f.Data) {
						t.Fatalf("entry %d = %+v, want seq %d of %v", i, e, ack+i+1, f.Start)
					}
					gi, gd, err := s.Read("cam-a", e.Seq)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(gi, init) || !bytes.Equal(gd, f.Data) {
						t.Fatalf("seq %d: bytes differ", e.Seq)
					}
					checkPlayable(t, gi, gd)
				}
				if ack > 0 {
					if _, _, err := s.Read("cam-a", uint64(ack)); !errors.Is(err, ErrNotFound) {
						t.Fatalf("read acked seq: %v, want ErrNotFound", err)
					}
				}
				if p, _ := s.Pending("cam-a", uint64(ack+1), 2); len(p) > 2 || (len(p) > 0 && p[0].Seq != uint64(ack+2)) {
					t.Fatalf("Pending(after=%d, limit 2) = %+v", ack+1, p)
				}
			}
			check(s)
			if err := s.Ack("cam-a", uint64(len(frags)+1)); err == nil {
				t.Fatal("ack beyond last seq succeeded")
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2 := mustOpen(t, dir, Options{Quota: 1 << 30, SegmentBytes: tc.segSize})
			check(s2)
			seq, err := s2.Append("cam-a", frags[0])
			if err != nil || seq != uint64(len(frags)+1) {
				t.Fatalf("append after reopen = %d, %v; want seq %d", seq, err, len(frags)+1)
			}
		})
	}
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "c-*", "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAckFreesFiles(t *testing.T) {
	t.Parallel()
	_, frags := clipFragments(t, 1, t0)
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{Quota: 1 << 30, SegmentBytes: 1 << 16})
	appendAll(t, s, "cam", frags)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	before, bytesBefore := len(segFiles(t, dir)), s.Stats().Bytes
	if before < 3 {
		t.Fatalf("only %d files; the test needs several", before)
	}
	if err := s.Ack("cam", uint64(len(frags)/2)); err != nil {
		t.Fatal(err)
	}
	mid, bytesMid := len(segFiles(t, dir)), s.Stats().Bytes
	if mid >= before || bytesMid >= bytesBefore {
		t.Fatalf("after acking half: %d files %d bytes, before %d files %d bytes", mid, bytesMid, before, bytesBefore)
	}
	if err := s.Ack("cam", uint64(len(frags))); err != nil {
		t.Fatal(err)
	}
	// The active file stays open until it rolls; everything else is gone.
	if n := len(segFiles(t, dir)); n > 1 {
		t.Fatalf("after acking all: %d files left, want at most the active one", n)
	}
	if st := s.Stats(); st.Fragments != 0 || !st.OldestPending.IsZero() {
		t.Fatalf("stats after acking all = %+v", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := mustOpen(t, dir, Options{Quota: 1 << 30})
	if n := len(segFiles(t, dir)); n != 0 {
		t.Fatalf("reopen left %d fully acked files", n)
	}
	if seq, err := s2.Append("cam", frags[0]); err != nil || seq != uint64(len(frags)+1) {
		t.Fatalf("append after all acked and freed = %d, %v; want %d", seq, err, len(frags)+1)
	}
}

func TestQuotaDropsOldestFirst(t *testing.T) {
	t.Parallel()
	_, frags := clipFragments(t, 1, t0)
	total := 0
	for _, f := range frags {
		total += len(f.Data) + headerSize
	}
	cases := []struct {
		name  string
		quota int64
		seg   int64
	}{
		{"quota a third of the footage", int64(total / 3), int64(total / 12)},
		{"quota one file", int64(total / 4), int64(total / 4)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := mustOpen(t, dir, Options{Quota: tc.quota, SegmentBytes: tc.seg})
			for i, f := range frags {
				for _, cam := range []string{"a", "b"} {
					if _, err := s.Append(cam, f); err != nil {
						t.Fatalf("append %d: %v (Append must not fail for quota)", i, err)
					}
				}
				if st := s.Stats(); st.Bytes > tc.quota {
					t.Fatalf("after %d appends spool holds %d bytes, quota %d", i, st.Bytes, tc.quota)
				}
			}
			if err := s.Sync(); err != nil {
				t.Fatal(err)
			}
			st := s.Stats()
			if st.DroppedTotal == 0 || st.Dropped["a"] == 0 || st.Dropped["b"] == 0 {
				t.Fatalf("nothing dropped: %+v", st)
			}
			for _, cam := range []string{"a", "b"} {
				p, _ := s.Pending(cam, 0, 0)
				if len(p) == 0 {
					t.Fatalf("camera %s: nothing kept", cam)
				}
				// Oldest first: what is kept is the newest, contiguous up to the end.
				if last := p[len(p)-1].Seq; last != uint64(len(frags)) {
					t.Fatalf("camera %s: newest kept seq %d, want %d", cam, last, len(frags))
				}
				if got := uint64(len(p)) + st.Dropped[cam]; got != uint64(len(frags)) {
					t.Fatalf("camera %s: kept %d + dropped %d != appended %d", cam, len(p), st.Dropped[cam], len(frags))
				}
				var rs []Range
				for _, r := range st.DroppedRanges {
					if r.Camera == cam {
						rs = append(rs, r)
					}
				}
				if len(rs) != 1 || rs[0].FirstSeq != 1 || rs[0].LastSeq+1 != p[0].Seq ||
					!rs[0].Start.Equal(frags[0].Start) || !rs[0].End.Equal(p[0].Start) {
					t.Fatalf("camera %s: lost ranges %+v, want one from seq 1 (%v) to just before seq %d (%v)",
						cam, rs, frags[0].Start, p[0].Seq, p[0].Start)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2 := mustOpen(t, dir, Options{Quota: tc.quota, SegmentBytes: tc.seg})
			if st2 := s2.Stats(); st2.DroppedTotal != st.DroppedTotal || len(st2.DroppedRanges) != len(st.DroppedRanges) {
				t.Fatalf("drops not kept across restart: %+v vs %+v", st2, st)
			}
			if st2 := s2.Stats(); st2.Fragments != int(2*uint64(len(frags))-st.DroppedTotal) || !st2.OldestPending.After(frags[0].Start) {
				t.Fatalf("after restart: %d fragments held, oldest %v; want %d and after %v", st2.Fragments, st2.OldestPending,
					2*uint64(len(frags))-st.DroppedTotal, frags[0].Start)
			}
			if err := s2.ForgetDropped("a", uint64(len(frags))); err != nil {
				t.Fatal(err)
			}
			if err := s2.Close(); err != nil {
				t.Fatal(err)
			}
			s3 := mustOpen(t, dir, Options{Quota: tc.quota, SegmentBytes: tc.seg})
			st3 := s3.Stats()
			if st3.DroppedTotal != st.DroppedTotal || len(st3.DroppedRanges) != 1 || st3.DroppedRanges[0].Camera != "b" {
				t.Fatalf("after ForgetDropped(a) and restart: %+v; want only b's range, counts kept", st3)
			}
		})
	}
}

func TestFragmentOverQuotaIsDroppedNotFailed(t *testing.T) {
	t.Parallel()
	_, frags := clipFragments(t, 10, t0)
	s := mustOpen(t, t.TempDir(), Options{Quota: 100})
	seq, err := s.Append("cam", frags[0])
	if err != nil || seq != 1 {
		t.Fatalf("append = %d, %v", seq, err)
	}
	if st := s.Stats(); st.DroppedTotal != 1 || st.Bytes != 0 {
		t.Fatalf("stats = %+v, want one dropped and nothing held", st)
	}
}

// lastFile returns the camera's newest data file.
func lastFile(t *testing.T, dir string) string {
	t.Helper()
	fs := segFiles(t, dir)
	if len(fs) == 0 {
		t.Fatal("no data files")
	}
	return fs[len(fs)-1]
}

func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// damage mutilates the data file; entries are the file's fragments.
		damage       func(t *testing.T, path string, e []entryLoc)
		wantKept     int // fragments still listed
		wantCorrupt  uint64
		wantNextSeq  uint64
		wantReadable int
	}{
		{"torn tail mid-fragment", func(t *testing.T, path string, e []entryLoc) {
			n := len(e) - 1
			mustTruncate(t, path, e[n].off+headerSize+int64(e[n].Size)/2)
		}, 9, 0, 10, 9},
		{"torn inside the last header", func(t *testing.T, path string, e []entryLoc) {
			mustTruncate(t, path, e[len(e)-1].off+7)
		}, 9, 0, 10, 9},
		{"one corrupt byte in a middle fragment", func(t *testing.T, path string, e []entryLoc) {
			flipByte(t, path, e[4].off+headerSize+int64(e[4].Size)/2)
		}, 10, 5, 11, 9},
		{"corrupt byte and torn tail", func(t *testing.T, path string, e []entryLoc) {
			flipByte(t, path, e[2].off+headerSize+10)
			mustTruncate(t, path, e[len(e)-1].off+headerSize+3)
		}, 9, 3, 10, 8},
		{"damaged header ends the file there", func(t *testing.T, path string, e []entryLoc) {
			flipByte(t, path, e[7].off+5)
		}, 7, 0, 8, 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			init, frags := clipFragments(t, 10, t0)
			frags = frags[:10]
			dir := t.TempDir()
			s := mustOpen(t, dir, Options{Quota: 1 << 30})
			appendAll(t, s, "cam", frags)
			if err := s.Sync(); err != nil {
				t.Fatal(err)
			}
			s.mu.Lock()
			entries := append([]entryLoc(nil), s.cams["cam"].files[0].entries...)
			s.mu.Unlock()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, lastFile(t, dir), entries)

			s2 := mustOpen(t, dir, Options{Quota: 1 << 30})
			p, err := s2.Pending("cam", 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(p) != tc.wantKept {
				t.Fatalf("kept %d entries, want %d", len(p), tc.wantKept)
			}
			readable := 0
			for _, e := range p {
				gi, gd, err := s2.Read("cam", e.Seq)
				if e.Seq == tc.wantCorrupt {
					if !e.Corrupt || !errors.Is(err, ErrCorrupt) || !bytes.Contains([]byte(err.Error()), fmt.Appendf(nil, "seq %d", e.Seq)) {
						t.Fatalf("corrupt seq %d: Corrupt=%v err=%v; want flagged and an error naming it", e.Seq, e.Corrupt, err)
					}
					continue
				}
				if err != nil || e.Corrupt {
					t.Fatalf("seq %d: %v (corrupt=%v)", e.Seq, err, e.Corrupt)
				}
				if !bytes.Equal(gi, init) || !bytes.Equal(gd, frags[e.Seq-1].Data) {
					t.Fatalf("seq %d: wrong bytes", e.Seq)
				}
				readable++
			}
			if readable != tc.wantReadable {
				t.Fatalf("readable %d, want %d", readable, tc.wantReadable)
			}
			seq, err := s2.Append("cam", frags[0])
			if err != nil || seq != tc.wantNextSeq {
				t.Fatalf("append after recovery = %d, %v; want seq %d", seq, err, tc.wantNextSeq)
			}
			if err := s2.Sync(); err != nil {
				t.Fatal(err)
			}
			if _, gd, err := s2.Read("cam", seq); err != nil || !bytes.Equal(gd, frags[0].Data) {
				t.Fatalf("read new fragment after recovery: %v", err)
			}
		})
	}
}

func mustTruncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestTornFileCreationAndLock(t *testing.T) {
	t.Parallel()
	_, frags := clipFragments(t, 10, t0)
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{Quota: 1 << 30})
	appendAll(t, s, "cam", frags[:3])
	if _, err := Open(dir, Options{Quota: 1 << 30}); err == nil {
		t.Fatal("a second Open of the same dir succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	camDir := filepath.Dir(lastFile(t, dir))
	if err := os.WriteFile(filepath.Join(camDir, fmt.Sprintf("%020d.seg", 4)), []byte("VSP"), 0o640); err != nil {
		t.Fatal(err)
	}
	s2 := mustOpen(t, dir, Options{Quota: 1 << 30})
	if p, _ := s2.Pending("cam", 0, 0); len(p) != 3 {
		t.Fatalf("pending %d, want 3", len(p))
	}
	if n := len(segFiles(t, dir)); n != 1 {
		t.Fatalf("%d data files, want the torn one removed", n)
	}
	if seq, err := s2.Append("cam", frags[3]); err != nil || seq != 4 {
		t.Fatalf("append = %d, %v; want 4", seq, err)
	}
}

func TestConcurrentCameras(t *testing.T) {
	t.Parallel()
	init, frags := clipFragments(t, 2, t0)
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{Quota: 1 << 30, SegmentBytes: 1 << 18, SyncInterval: 5 * time.Millisecond})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cam := fmt.Sprintf("cam-%d", c)
			for i, f := range frags {
				seq, err := s.Append(cam, f)
				if err != nil || seq != uint64(i+1) {
					errs <- fmt.Errorf("%s append %d = %d, %v", cam, i, seq, err)
					return
				}
				if i%7 == 6 {
					if err := s.Ack(cam, uint64(i-3)); err != nil {
						errs <- err
						return
					}
					if _, err := s.Pending(cam, 0, 5); err != nil {
						errs <- err
						return
					}
					_ = s.Stats()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	for c := range 8 {
		cam := fmt.Sprintf("cam-%d", c)
		p, err := s.Pending(cam, 0, 0)
		if err != nil || len(p) == 0 {
			t.Fatalf("%s: pending %d, %v", cam, len(p), err)
		}
		for _, e := range p {
			gi, gd, err := s.Read(cam, e.Seq)
			if err != nil || !bytes.Equal(gi, init) || !bytes.Equal(gd, frags[e.Seq-1].Data) {
				t.Fatalf("%s seq %d: %v", cam, e.Seq, err)
			}
		}
	}
	if got := s.Cameras(); len(got) != 8 {
		t.Fatalf("cameras = %v", got)
	}
}

func TestAppendRejectsBadInput(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, t.TempDir(), Options{Quota: 1 << 20})
	cases := []struct {
		name string
		cam  string
		f    Fragment
	}{
		{"no init", "cam", Fragment{Data: []byte{1}}},
		{"no data", "cam", Fragment{Init: []byte{1}}},
		{"no camera", "", Fragment{Init: []byte{1}, Data: []byte{1}}},
	}
	for _, tc := range cases {
		if _, err := s.Append(tc.cam, tc.f); err == nil {
			t.Errorf("%s: append succeeded", tc.name)
		}
	}
	if err := s.Ack("nobody", 1); err == nil {
		t.Error("ack of an unknown camera succeeded")
	}
	if _, err := Open(t.TempDir(), Options{}); err == nil {
		t.Error("open without quota succeeded")
	}
}

// TestOnDurable: the callback reports each camera's highest durable seq
// once a sync made it durable, and Pending lists it by then.
func TestOnDurable(t *testing.T) {
	t.Parallel()
	_, frags := clipFragments(t, 1, t0)
	type durable struct {
		camera string
		seq    uint64
	}
	got := make(chan durable, 16)
	var s *Spool
	s = mustOpen(t, t.TempDir(), Options{Quota: 1 << 30, SyncInterval: time.Hour,
		OnDurable: func(camera string, seq uint64) {
			if p, err := s.Pending(camera, seq-1, 1); err != nil || len(p) != 1 {
				t.Errorf("Pending(%s) after OnDurable(%d): %v %v", camera, seq, p, err)
			}
			got <- durable{camera, seq}
		}})
	appendAll(t, s, "a", frags[:3])
	appendAll(t, s, "b", frags[:1])
	if len(got) != 0 {
		t.Fatal("OnDurable before any sync")
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"a": 3, "b": 1}
	for range 2 {
		d := <-got
		if want[d.camera] != d.seq {
			t.Errorf("OnDurable(%s, %d), want seq %d", d.camera, d.seq, want[d.camera])
		}
		delete(want, d.camera)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Error("OnDurable again without new fragments")
	}
}

// TestBacklog: the summary counts every unacknowledged fragment (durable
// or not) across files, and follows acks.
func TestBacklog(t *testing.T) {
	t.Parallel()
	_, frags := clipFragments(t, 1, t0)
	s := mustOpen(t, t.TempDir(), Options{Quota: 1 << 30, SegmentBytes: 1 << 16, SyncInterval: time.Hour})
	if b := s.Backlog("cam"); b != (Backlog{}) {
		t.Fatalf("empty spool: %+v", b)
	}
	seqs := appendAll(t, s, "cam", frags)
	check := func(from int) {
		t.Helper()
		var want Backlog
		for _, f := range frags[from:] {
			want.Bytes += int64(len(f.Data))
		}
		want.Fragments = len(frags) - from
		want.Start = frags[from].Start
		want.End = frags[len(frags)-1].Start.Add(frags[len(frags)-1].Duration)
		got := s.Backlog("cam")
		if got.Fragments != want.Fragments || got.Bytes != want.Bytes || !got.Start.Equal(want.Start) || !got.End.Equal(want.End) {
			t.Fatalf("backlog %+v, want %+v", got, want)
		}
	}
	check(0) // nothing synced yet: still the backlog
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack("cam", seqs[len(seqs)/2]); err != nil {
		t.Fatal(err)
	}
	check(len(seqs)/2 + 1)
}
