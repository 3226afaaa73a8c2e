package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/parse"
)

// parseBenchMessages is the size of the directory BenchmarkParseCommand
// parses.
const parseBenchMessages = 20_000

// BenchmarkParseCommand runs the resingest binary's parse command, as a
// whole process, over a directory of 20,000 generated messages with each
// engine in turn, and reports messages/s and MB/s per engine and the
// fast/xpath ratio (process start included). Run it with -benchtime 1x.
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
	var took = map[string]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, e := range []string{parse.EngineFast, parse.EngineXPath} {
			took[e] += run(e)
		}
	}
	b.StopTimer()
	for _, e := range []string{parse.EngineFast, parse.EngineXPath} {
		sec := took[e].Seconds() / float64(b.N)
		b.ReportMetric(parseBenchMessages/sec, e+"-msgs/s")
		b.ReportMetric(float64(size)/1e6/sec, e+"-MB/s")
	}
	b.ReportMetric(took[parse.EngineXPath].Seconds()/took[parse.EngineFast].Seconds(), "fast/xpath")
}
