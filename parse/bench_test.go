package parse_test

import (
	"testing"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/redact"
)

// benchCorpus is the first 1,000 messages of a generated corpus (about
// 3.6 KB each) and their mean size.
func benchCorpus() (msgs [][]byte, mean int) {
	g := corpus.New(corpus.Options{Seed: 7})
	msgs = make([][]byte, 1000)
	total := 0
	for i := range msgs {
		msgs[i] = g.Next().XML
		total += len(msgs[i])
	}
	return msgs, total / len(msgs)
}

// BenchmarkParse extracts a generated corpus with the default engine;
// ns/op and B/op are per message, MB/s per core.
func BenchmarkParse(b *testing.B) {
	p, err := parse.New(parse.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchParse(b, p)
}

// BenchmarkEngines runs both engines on the same corpus, side by side.
func BenchmarkEngines(b *testing.B) {
	for _, e := range []string{parse.EngineXPath, parse.EngineFast} {
		b.Run(e, func(b *testing.B) {
			p, err := parse.New(parse.Options{Engine: e})
			if err != nil {
				b.Fatal(err)
			}
			benchParse(b, p)
		})
	}
}

func benchParse(b *testing.B, p *parse.Parser) {
	msgs, mean := benchCorpus()
	total := mean * len(msgs)
	b.SetBytes(int64(total / len(msgs)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Parse(msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkRedact measures the raw-message redaction every archived or
// dead-lettered message goes through.
func BenchmarkRedact(b *testing.B) {
	g := corpus.New(corpus.Options{Seed: 7})
	msgs := make([][]byte, 200)
	for i := range msgs {
		msgs[i] = g.Next().XML
	}
	b.SetBytes(int64(len(msgs[0])))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		redact.Redact(msgs[i%len(msgs)])
	}
}
