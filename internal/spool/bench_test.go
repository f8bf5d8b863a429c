package spool

import (
	"fmt"
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
