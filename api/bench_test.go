package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// Load of BenchmarkAPILatency; RESINGEST_BENCH_RATE (requests/s),
// RESINGEST_BENCH_SECONDS and RESINGEST_BENCH_RESERVATIONS override them.
const (
	benchRate         = 1000
	benchSeconds      = 8
	benchReservations = 3000
	benchHotels       = 20
	// benchWorkers bounds the requests in flight; past it, requests wait
	// for a worker and the wait counts in their latency.
	benchWorkers = 128
)

func benchEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkAPILatency measures GET /v1/reservations/{hotel}/{conf} over
// loopback with an open-loop load: requests are due on a fixed schedule
// (1,000/s) whatever the responses, and each latency runs from the time
// the request was due, not from when it was sent, so a slow server cannot
// hide its queueing (no coordinated omission). Each request is signed with
// SigV4 by a partner (no pii scope: no audit) and reads a random one of a
// few thousand reservations. Reports p50, p99 and p99.9 in ms and the
// throughput achieved, for each store. Run it with -benchtime 1x: each run
// is a fixed duration.
func BenchmarkAPILatency(b *testing.B) {
	rate := benchEnv("RESINGEST_BENCH_RATE", benchRate)
	seconds := benchEnv("RESINGEST_BENCH_SECONDS", benchSeconds)
	n := benchEnv("RESINGEST_BENCH_RESERVATIONS", benchReservations)
	recs := benchRecords(b, n)
	hotels := make([]string, benchHotels)
	for i := range hotels {
		hotels[i] = fmt.Sprintf("BH%02d", i)
	}
	partner := Partner{Name: "bench", AccessKeyID: "AKIDBENCH", SecretAccessKey: "bench-secret", Hotels: hotels}
	for _, kind := range storeKinds {
		b.Run(kind, func(b *testing.B) {
			start := time.Now()
			store := newStore(b, kind, recs) // "+pii" kinds: guests sealed, read through an OpenedStore
			b.Logf("%s: loaded %d reservations in %v", kind, len(recs), time.Since(start).Round(time.Millisecond))
			partners, err := NewPartners([]Partner{partner})
			if err != nil {
				b.Fatal(err)
			}
			srv, err := New(Options{Store: store, Partners: partners, Logger: discardLogger()})
			if err != nil {
				b.Fatal(err)
			}
			ts := httptest.NewServer(srv.Handler())
			b.Cleanup(ts.Close)
			for range b.N {
				res := openLoop(b, ts.URL, partner, recs, rate, time.Duration(seconds)*time.Second)
				b.ReportMetric(res.pct(0.50), "p50-ms")
				b.ReportMetric(res.pct(0.99), "p99-ms")
				b.ReportMetric(res.pct(0.999), "p99.9-ms")
				b.ReportMetric(res.throughput, "req/s")
				b.ReportMetric(float64(res.errors), "errors")
				fmt.Printf("BenchmarkAPILatency/%s: target %d req/s for %ds over %d reservations: achieved %.0f req/s, p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms, errors %d\n",
					kind, rate, seconds, len(recs), res.throughput, res.pct(0.50), res.pct(0.99), res.pct(0.999), res.pct(1), res.errors)
			}
		})
	}
}

// benchRecords are n reservations spread over the bench hotels.
func benchRecords(b *testing.B, n int) []sinks.Record {
	recs := make([]sinks.Record, n)
	for i := range recs {
		r := reservation.Reservation{
			MessageType: "OTA_HotelResNotifRQ", MessageTime: "2024-05-01T12:00:00Z", Action: reservation.ActionCreate, Status: "Book",
			Confirmation: fmt.Sprintf("B%06d", i), HotelCode: fmt.Sprintf("BH%02d", i%benchHotels), ChainCode: "RC",
			CreatedAt: "2024-04-01T09:00:00Z", Arrival: "2024-06-01", Departure: "2024-06-04", Adults: 2,
			RoomStays: []reservation.RoomStay{{RoomType: "KING", RatePlan: "BAR", Units: 1, Arrival: "2024-06-01",
				Departure: "2024-06-04", Adults: 2, TotalAfterTax: "450.50", TotalBeforeTax: "400.00", Currency: "USD"}},
			Guests: []reservation.Guest{{Primary: true, GivenName: "Ann", Surname: "Zed", Email: fmt.Sprintf("g%d@example.com", i),
				Phone: "+1 555 010 1234", LoyaltyProgram: "GOLD", LoyaltyNumber: fmt.Sprintf("G%d", i)}},
			ExternalIDs:   []reservation.ExternalID{{Type: "14", Value: fmt.Sprintf("B%06d", i), Source: "PMS"}},
			TotalAfterTax: "450.50", TotalBeforeTax: "400.00", Currency: "USD",
		}
		r.Normalize()
		v, err := reservation.VersionOf(&r, "1")
		if err != nil {
			b.Fatal(err)
		}
		recs[i] = sinks.Record{Reservation: r, Version: v}
	}
	return recs
}

// loadResult is what one open-loop run measured.
type loadResult struct {
	latencies  []time.Duration // sorted, of the successful requests
	errors     int64
	throughput float64 // responses per second over the run
}

// pct is the q-quantile latency in ms (q = 1: the maximum).
func (r loadResult) pct(q float64) float64 {
	if len(r.latencies) == 0 {
		return 0
	}
	i := min(len(r.latencies)-1, int(q*float64(len(r.latencies))))
	return float64(r.latencies[i].Microseconds()) / 1000
}

// openLoop sends rate requests a second for d on a fixed schedule from a
// bounded pool of workers and measures each from its due time.
func openLoop(b *testing.B, base string, p Partner, recs []sinks.Record, rate int, d time.Duration) loadResult {
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: benchWorkers, MaxIdleConnsPerHost: benchWorkers}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	creds := aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
	emptySum := sha256.Sum256(nil)
	payloadHash := hex.EncodeToString(emptySum[:])
	signer := v4.NewSigner()
	var seq atomic.Int64
	send := func(rng *rand.Rand) error {
		rec := &recs[rng.IntN(len(recs))].Reservation
		req, err := http.NewRequest("GET", base+"/v1/reservations/"+rec.HotelCode+"/"+rec.Confirmation, nil)
		if err != nil {
			return err
		}
		// A request id of its own, signed: two requests in one second are
		// not replays of each other.
		req.Header.Set(RequestIDHeader, "bench-"+strconv.FormatInt(seq.Add(1), 10))
		if err := signer.SignHTTP(context.Background(), creds, req, payloadHash, SigV4Service, DefaultRegion, time.Now()); err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}

	// Warm-up, not measured: connections, caches, the JIT of the stores.
	warm := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		if err := send(warm); err != nil {
			b.Fatalf("warm-up: %v", err)
		}
	}

	total := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	due := make(chan int, total) // never full: the schedule never waits
	lat := make([]time.Duration, total)
	failed := make([]bool, total)
	var errs atomic.Int64
	start := time.Now().Add(10 * time.Millisecond)
	var wg sync.WaitGroup
	for w := range benchWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range due {
				at := start.Add(time.Duration(i) * interval)
				if err := send(rng); err != nil {
					failed[i] = true
					if errs.Add(1) <= 3 {
						b.Logf("request %d: %v", i, err)
					}
				}
				lat[i] = time.Since(at)
			}
		}()
	}
	b.ResetTimer()
	for i := range total {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		due <- i
	}
	close(due)
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	res := loadResult{errors: errs.Load(), throughput: float64(total-int(errs.Load())) / elapsed.Seconds()}
	for i, l := range lat {
		if !failed[i] {
			res.latencies = append(res.latencies, l)
		}
	}
	slices.Sort(res.latencies)
	return res
}
