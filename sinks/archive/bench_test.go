package archive

import (
	"fmt"
	"testing"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// BenchmarkWrite500 archives batches of 500 generated HTNG messages (the
// project's corpus: SOAP envelopes, 5% with a full test card number) to the
// local S3 server. "hotels=7500" is the production spread, where nearly
// every message of a batch is its own object; "hotels=50" shows grouping.
func BenchmarkWrite500(b *testing.B) {
	const batch = 500
	for _, hotels := range []int{7500, 50} {
		b.Run(fmt.Sprintf("hotels=%d", hotels), func(b *testing.B) {
			gen := corpus.New(corpus.Options{Seed: 1, Hotels: hotels})
			recs := make([]sinks.Record, batch)
			var rawBytes int64
			for i := range recs {
				m := gen.Next()
				r := reservation.Reservation{MessageID: m.Expect.MessageID, HotelCode: m.Hotel, Confirmation: m.Key}
				r.Normalize()
				recs[i] = sinks.Record{Reservation: r, Raw: m.XML}
				rawBytes += int64(len(m.XML))
			}
			s := newTestSink(b, testClient(b), Options{})
			ctx := testContext(b)
			b.SetBytes(rawBytes)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res, err := s.Write(ctx, recs)
				if err != nil {
					b.Fatal(err)
				}
				for i, r := range res {
					if r.Outcome != sinks.Stored {
						b.Fatalf("record %d: %s %v", i, r.Outcome, r.Err)
					}
				}
			}
			b.StopTimer()
			st := s.Stats()
			b.ReportMetric(float64(st.Entries)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(st.Objects)/float64(st.Entries)*batch, "objects/batch")
			b.ReportMetric(float64(st.Bytes)/float64(st.Entries), "gz-bytes/msg")
			b.ReportMetric(float64(st.RawBytes)/float64(st.Bytes), "ratio")
		})
	}
}
