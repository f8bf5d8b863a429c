package audit

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkRecord is the cost of one Record call on a request path: the
// entry is queued and the writer commits batches behind it. The Sync at
// the end is timed too, so every commit is paid for.
func BenchmarkRecord(b *testing.B) {
	for _, par := range []bool{false, true} {
		b.Run(fmt.Sprintf("parallel=%v", par), func(b *testing.B) {
			f := newFixture(b, Options{FlushInterval: 100 * time.Millisecond})
			e := Entry{User: "ann", Role: "operator", Action: ActionPlayback, Camera: "gate-1", Site: "north",
				From: time.Now().Add(-time.Hour), To: time.Now(), Reason: "incident 4711", Remote: "10.1.2.3",
				Detail: map[string]any{"via": "hls"}}
			b.ReportAllocs()
			b.ResetTimer()
			if par {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := f.log.Record(f.ctx, e); err != nil {
							b.Error(err)
							return
						}
					}
				})
			} else {
				for b.Loop() {
					if err := f.log.Record(f.ctx, e); err != nil {
						b.Fatal(err)
					}
				}
			}
			f.sync()
		})
	}
}

// BenchmarkRecordEnqueue is what a request pays while the queue has
// room: the writer commits behind it (competing for the CPUs) and the
// rest is committed after the timer stops. Run it with -benchtime Nx,
// N well under the 1 Mi buffer.
func BenchmarkRecordEnqueue(b *testing.B) {
	f := newFixture(b, Options{Buffer: 1 << 20})
	e := Entry{User: "ann", Role: "operator", Action: ActionPlayback, Camera: "gate-1", Reason: "incident 4711"}
	b.ReportAllocs()
	for b.Loop() {
		if err := f.log.Record(f.ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
}

// BenchmarkVerify is the cost of verifying the chain, per record.
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b, Options{})
	const n = 10000
	f.record("ann", 0, n)
	f.sync()
	b.ResetTimer()
	for b.Loop() {
		if rep := f.verify(); !rep.OK || rep.Records != n {
			b.Fatalf("%+v", rep)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/record")
}
