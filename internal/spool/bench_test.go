package spool

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkAppend measures spooling throughput with the default group
// commit (background fsync every 250 ms) and the on-disk bytes per
// fragment beyond its moof+mdat (record header plus the init block, which
// is written once per data file).
func BenchmarkAppend(b *testing.B) {
	for _, per := range []int{10, 1} {
		b.Run(fmt.Sprintf("frames_per_fragment=%d", per), func(b *testing.B) {
			_, frags := clipFragments(b, per, t0)
			var size int
			for _, f := range frags {
				size += len(f.Data)
			}
			s, err := Open(b.TempDir(), Options{Quota: 1 << 40})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size / len(frags)))
			b.ResetTimer()
			var data int64
			for i := range b.N {
				f := frags[i%len(frags)]
				if _, err := s.Append("cam", f); err != nil {
					b.Fatal(err)
				}
				data += int64(len(f.Data))
			}
			if err := s.Sync(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			st := s.Stats()
			b.ReportMetric(float64(st.Bytes-data)/float64(b.N), "overhead-B/frag")
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkAppendCameras spools 100 cameras at once (one goroutine each),
// as a gateway does, with the default group commit.
func BenchmarkAppendCameras(b *testing.B) {
	_, frags := clipFragments(b, 10, t0)
	var size int
	for _, f := range frags {
		size += len(f.Data)
	}
	s, err := Open(b.TempDir(), Options{Quota: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetBytes(int64(size / len(frags)))
	var next atomicCounter
	b.SetParallelism(50) // 100 goroutines on 2 CPUs
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		cam := fmt.Sprintf("cam-%d", next.add())
		i := 0
		for pb.Next() {
			if _, err := s.Append(cam, frags[i%len(frags)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	if err := s.Sync(); err != nil {
		b.Fatal(err)
	}
}

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) add() int64 { return c.n.Add(1) }

// BenchmarkRead reads back spooled fragments for upload (~1 s fragments
// of the clip): "recent" from the spool that appended them (a caught-up
// camera), "reopened" after a restart (backfill, from disk).
func BenchmarkRead(b *testing.B) {
	for _, reopen := range []bool{false, true} {
		name := map[bool]string{false: "recent", true: "reopened"}[reopen]
		b.Run(name, func(b *testing.B) {
			_, frags := clipFragments(b, 25, t0)
			dir := b.TempDir()
			s, err := Open(dir, Options{Quota: 1 << 40})
			if err != nil {
				b.Fatal(err)
			}
			var seqs []uint64
			for _, f := range frags[:min(len(frags), 8)] {
				seq, err := s.Append("cam", f)
				if err != nil {
					b.Fatal(err)
				}
				seqs = append(seqs, seq)
			}
			if reopen {
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				if s, err = Open(dir, Options{Quota: 1 << 40}); err != nil {
					b.Fatal(err)
				}
			}
			defer s.Close()
			b.SetBytes(int64(len(frags[0].Data)))
			b.ResetTimer()
			for i := range b.N {
				if _, _, err := s.Read("cam", seqs[i%len(seqs)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
