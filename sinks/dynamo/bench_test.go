package dynamo

import (
	"fmt"
	"testing"

	"github.com/resingest/resingest/sinks"
)

// BenchmarkWrite500 writes batches of 500 new reservations and reports
// items per second, at the default and at a higher in-flight limit.
func BenchmarkWrite500(b *testing.B) {
	for _, inFlight := range []int{16, 64} {
		b.Run(fmt.Sprintf("inflight=%d", inFlight), func(b *testing.B) {
			s, _ := newTestSink(b, Options{MaxInFlight: inFlight})
			ctx := testContext(b)
			const batch = 500
			recs := make([]sinks.Record, batch)
			n := 0
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				for i := range recs {
					recs[i] = rec(b, fmt.Sprintf("H%03d", n%50), fmt.Sprintf("B%08d", n), 1, "")
					n++
				}
				b.StartTimer()
				res, err := s.Write(ctx, recs)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range res {
					if r.Outcome != sinks.Stored {
						b.Fatalf("outcome %v: %v", r.Outcome, r.Err)
					}
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
