package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/parse"
)

// parseBenchMessages is the size of the directory BenchmarkParseCommand
// parses; parseBenchRounds the runs of each engine it takes the median of.
const (
	parseBenchMessages = 20_000
	parseBenchRounds   = 5
)

// BenchmarkParseCommand runs the resingest binary's parse command, as a
// whole process, over a directory of 20,000 generated messages with each
// engine in turn, five times each, and reports the median messages/s and
// MB/s per engine and the ratio of the medians, fast/xpath (process start
// included). Run it with -benchtime 1x.
func BenchmarkParseCommand(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "resingest")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	msgs := filepath.Join(dir, "msgs")
	g := corpus.New(corpus.Options{Seed: 7})
	if err := g.WriteDir(context.Background(), msgs, parseBenchMessages, nil); err != nil {
		b.Fatal(err)
	}
	_, size := g.Generated()
	run := func(engine string) time.Duration {
		cmd := exec.Command(bin, "parse", "--engine", engine, msgs)
		cmd.Stderr = os.Stderr
		start := time.Now()
		if err := cmd.Run(); err != nil { // stdout goes to /dev/null
			b.Fatalf("parse --engine %s: %v", engine, err)
		}
		return time.Since(start)
	}
	run(parse.EngineFast) // warm the page cache
	// Each engine runs parseBenchRounds times, alternating, and the
	// medians are compared: a 2-core machine shared with other work slows
	// single runs (the fast one lasts a third of a second) by up to a
	// third.
	took := map[string][]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for range parseBenchRounds {
			for _, e := range []string{parse.EngineFast, parse.EngineXPath} {
				took[e] = append(took[e], run(e))
			}
		}
	}
	b.StopTimer()
	median := func(d []time.Duration) float64 {
		d = slices.Clone(d)
		slices.Sort(d)
		return d[len(d)/2].Seconds()
	}
	for _, e := range []string{parse.EngineFast, parse.EngineXPath} {
		sec := median(took[e])
		b.ReportMetric(parseBenchMessages/sec, e+"-msgs/s")
		b.ReportMetric(float64(size)/1e6/sec, e+"-MB/s")
	}
	b.ReportMetric(median(took[parse.EngineXPath])/median(took[parse.EngineFast]), "fast/xpath")
}
