package pipeline_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/pipeline"
)

// BenchmarkKinesisWorker measures records/s through one in-process worker
// reading a 4-shard stream on the local kinesalite into Postgres and
// DynamoDB (audit included), one whole corpus per iteration; run it with
// -benchtime 1x. RESINGEST_BENCH_MESSAGES overrides the corpus size
// (default 2000). Stream, stores and lease table are fresh per iteration
// and set up outside the timer; the clock stops at the last acknowledged
// batch (not the idle wait).
func BenchmarkKinesisWorker(b *testing.B) {
	n := 2000
	if v := os.Getenv("RESINGEST_BENCH_MESSAGES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("RESINGEST_BENCH_MESSAGES=%q: not a positive number", v)
		}
	}
	dir := b.TempDir()
	if err := corpus.WriteDir(context.Background(), dir, n, 1, nil); err != nil {
		b.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil || len(files) != n {
		b.Fatalf("corpus: %d files, %v", len(files), err)
	}
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		env := e2e.Env(b)
		s := newTestStream(b, 4)
		s.put(b, files)
		proc, _ := newProcessor(b, env)
		cfg := s.config("bench")
		cfg.BatchSize = 1000
		cfg.Metrics = pipeline.NewKinesisMetrics(prometheus.NewRegistry())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		var counts outcomeCounter
		var lastBatch time.Time
		start := time.Now()
		b.StartTimer()
		err := pipeline.RunKinesis(ctx, cfg, proc, pipeline.RunOptions{
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			OnBatch: func(o []pipeline.Outcome) {
				counts.add(o)
				if counts.get() >= n {
					lastBatch = time.Now()
					cancel() // the stream is drained
				}
			},
		})
		b.StopTimer()
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		if counts.get() != n {
			b.Fatalf("acknowledged %d messages, want %d", counts.get(), n)
		}
		total += lastBatch.Sub(start)
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "msgs/s")
}
