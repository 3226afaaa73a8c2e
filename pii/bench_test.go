package pii_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/reservation"
)

// BenchmarkIngestEncryption measures what encryption costs the stream:
// batches of 500 generated messages through the Processor (parse, seal,
// write to the real local Postgres, audit), alternating a processor
// without and one with the keyring in the same run, so both see the same
// machine load. Reports both rates and the loss in percent.
func BenchmarkIngestEncryption(b *testing.B) {
	const batch = 500
	kr, pg, _ := newKeyringB(b)
	parser, err := parse.New(parse.Options{})
	if err != nil {
		b.Fatal(err)
	}
	cfg := pipeline.Config{Parser: parser, Stores: []pipeline.NamedSink{{Name: "postgres", Sink: pg}}, Ledger: pg}
	plain, err := pipeline.NewProcessor(cfg)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Sealer = kr
	sealed, err := pipeline.NewProcessor(cfg)
	if err != nil {
		b.Fatal(err)
	}
	gens := map[bool]*corpus.Generator{false: corpus.New(corpus.Options{Seed: 1}), true: corpus.New(corpus.Options{Seed: 2, Hotels: 7499})}
	var pos int
	next := func(g *corpus.Generator, part string) []pipeline.Message {
		msgs := make([]pipeline.Message, batch)
		for i := range msgs {
			pos++
			msgs[i] = pipeline.Message{Value: g.Next().XML, Source: "bench", Partition: part, Position: strconv.Itoa(pos), ReceivedAt: time.Now()}
		}
		return msgs
	}
	var took [2]time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for i, withKeys := range []bool{false, true} {
			b.StopTimer()
			msgs := next(gens[withKeys], fmt.Sprint(withKeys))
			proc := plain
			if withKeys {
				proc = sealed
			}
			b.StartTimer()
			start := time.Now()
			if _, err := proc.Process(b.Context(), msgs); err != nil {
				b.Fatal(err)
			}
			took[i] += time.Since(start)
		}
	}
	plainRate := float64(batch*b.N) / took[0].Seconds()
	sealedRate := float64(batch*b.N) / took[1].Seconds()
	b.ReportMetric(plainRate, "plain_msgs/s")
	b.ReportMetric(sealedRate, "sealed_msgs/s")
	b.ReportMetric(100*(1-sealedRate/plainRate), "loss_%")
}

// BenchmarkSealGuests is the CPU cost of sealing and indexing one
// reservation's guests (two guests, every field set).
func BenchmarkSealGuests(b *testing.B) {
	kr, _, _ := newKeyringB(b)
	guests := []reservation.Guest{
		{Primary: true, GivenName: "Grace", Surname: "Hopper", Email: "grace.hopper@example.com", Phone: "+1 555 010 0199",
			LoyaltyProgram: "GOLD", LoyaltyNumber: "GX991", City: "Arlington", PostalCode: "22201", Country: "US"},
		{GivenName: "Alan", Surname: "Turing", Email: "alan@example.org", City: "London", Country: "GB"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := kr.SealGuests(guests); err != nil {
			b.Fatal(err)
		}
	}
}
