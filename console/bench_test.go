package console_test

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/resingest/resingest/console"
	"github.com/resingest/resingest/reservation"
)

// BenchmarkPages loads each console page 200 times, one request at a
// time, over RESINGEST_BENCH_MESSAGES generated messages (default 20,000,
// as many as make demo stores) that the real processor stored into
// Postgres, DynamoDB and S3 (batches of 250), and reports each page's p50
// and p95 in milliseconds. Run with -benchtime 1x.
func BenchmarkPages(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("RESINGEST_BENCH_MESSAGES")); err == nil && v > 0 {
		n = v
	}
	f := newFixtureN(b, n, 250)
	tok := f.token(b, console.RoleOps)
	var key reservation.Key
	for k, idx := range f.byKey {
		if len(idx) > len(f.byKey[key]) || (len(idx) == len(f.byKey[key]) && k.Confirmation < key.Confirmation) {
			key = k
		}
	}
	pages := []struct{ name, path string }{
		{"reservation", resURL(key)},
		{"search", "/search?confirmation=" + key.Confirmation},
		{"health-6h", "/health"},
		{"health-7d", "/health?window=7d"},
		{"hotels", "/hotels"},
		{"dead-letters", "/dead-letters"},
	}
	for range b.N {
		for _, p := range pages {
			times := make([]time.Duration, 0, 200)
			for range 200 {
				req, _ := http.NewRequest(http.MethodGet, f.ts.URL+p.path, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				start := time.Now()
				resp, err := f.ts.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				times = append(times, time.Since(start))
				if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusSeeOther {
					b.Fatalf("%s: %d", p.name, resp.StatusCode)
				}
			}
			slices.Sort(times)
			ms := func(q float64) float64 { return float64(times[int(q*float64(len(times)-1))]) / 1e6 }
			b.ReportMetric(ms(0.5), p.name+"-p50-ms")
			b.ReportMetric(ms(0.95), p.name+"-p95-ms")
			fmt.Fprintf(os.Stderr, "console page %-13s p50 %6.2f ms  p95 %6.2f ms  (%d messages, reservation with %d)\n",
				p.name, ms(0.5), ms(0.95), n, len(f.byKey[key]))
		}
	}
}
