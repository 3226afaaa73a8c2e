package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resingest/resingest/bench/corpus"
	harness "github.com/resingest/resingest/internal/e2e"
)

// Settings read from the environment (see the package documentation).
const (
	envMessages   = "RESINGEST_BENCH_MESSAGES"
	envBatchSize  = "RESINGEST_BENCH_BATCH_SIZE"
	envCPUProfile = "RESINGEST_BENCH_CPUPROFILE"
	envLogDir     = "RESINGEST_BENCH_LOGDIR"
)

// Timeouts sized for a loaded 2-core machine.
const (
	produceTimeout = 5 * time.Minute
	consumeTimeout = 15 * time.Minute
	// idleExit ends the worker once the topic is drained; it is not
	// counted in the throughput (the worker reports the time to its last
	// batch).
	idleExit = "2s"
)

// corpusSeed fixes the corpus, so every run measures the same messages.
const corpusSeed = 1

func TestMain(m *testing.M) { harness.Main(m) }

// benchCase is one configuration of the worker.
type benchCase struct {
	name     string
	sinks    string // --sinks
	messages int    // default corpus size
}

var cases = []benchCase{
	{name: "postgres", sinks: "postgres", messages: 20_000},
	// The local DynamoDB (dynalite) is far slower than Postgres: a
	// smaller corpus keeps the run short.
	{name: "postgres+dynamo", sinks: "postgres,dynamo", messages: 5_000},
}

// BenchmarkEndToEnd measures the Kafka worker, one whole corpus per
// iteration; run it with -benchtime 1x.
func BenchmarkEndToEnd(b *testing.B) {
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			n := messageCount(b, c.messages)
			msgs := generate(n)
			bin := harness.BuildBinary(b)
			var sum runResult
			serverCPU := map[string]time.Duration{}
			var wcu, itemBytes float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				st := harness.Env(b)
				produce(b, st, msgs)
				clock := startServerClock()
				b.StartTimer()
				r := consume(b, bin, st, c)
				b.StopTimer()
				for server, t := range clock.used() {
					serverCPU[server] += t
				}
				if r.messages != n {
					b.Fatalf("worker acknowledged %d messages, want %d", r.messages, n)
				}
				if got := st.Count(b, "audit"); got != n {
					b.Fatalf("audit has %d rows, want %d", got, n)
				}
				reportTableWrites(b, c.name, st.PostgresURL, n)
				if strings.Contains(c.sinks, "dynamo") {
					ctx, cancel := context.WithTimeout(context.Background(), consumeTimeout)
					w, size, err := writeUnits(ctx, st.DynamoClient(b), st.DynamoTable)
					cancel()
					if err != nil {
						b.Fatalf("DynamoDB write units: %v", err)
					}
					wcu, itemBytes = wcu+w/float64(b.N), itemBytes+size/float64(b.N)
				}
				sum.add(r)
			}
			msgsPerSec := float64(sum.messages) / sum.busy.Seconds()
			cpuPer1000 := sum.cpu.Seconds() / float64(sum.messages) * 1000
			rssMB := float64(sum.maxRSSKB) / 1024
			b.ReportMetric(msgsPerSec, "msgs/s")
			b.ReportMetric(cpuPer1000, "cpu-s/1000msgs")
			b.ReportMetric(rssMB, "peak-RSS-MB")
			b.Logf("%s: %d messages in %s: %.0f messages/s, %.3f CPU-s per 1,000 messages, peak RSS %.0f MB",
				c.name, sum.messages, sum.busy.Round(time.Millisecond), msgsPerSec, cpuPer1000, rssMB)
			reportServerCost(b, c.name, serverCPU, sum.messages, wcu, itemBytes)
		})
	}
}

// messageCount is the corpus size: RESINGEST_BENCH_MESSAGES or def.
func messageCount(b *testing.B, def int) int {
	v := os.Getenv(envMessages)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number of messages", envMessages, v)
	}
	return n
}

// corpora caches generated corpora by size: generating is not what is
// measured, and both cases may share one.
var corpora struct {
	sync.Mutex
	bySize map[int][]corpus.Message
}

func generate(n int) []corpus.Message {
	corpora.Lock()
	defer corpora.Unlock()
	if msgs, ok := corpora.bySize[n]; ok {
		return msgs
	}
	g := corpus.New(corpus.Options{Seed: corpusSeed})
	msgs := make([]corpus.Message, n)
	for i := range msgs {
		m := g.Next()
		msgs[i] = corpus.Message{Key: m.Key, XML: m.XML} // the rest is not needed
	}
	if corpora.bySize == nil {
		corpora.bySize = make(map[int][]corpus.Message)
	}
	corpora.bySize[n] = msgs
	return msgs
}

// produce sends msgs to the stores' topic, keyed by confirmation number as
// `resingest produce` does (the versions of a reservation stay in order on
// one partition). The broker creates the topic on first use.
func produce(b *testing.B, st *harness.Stores, msgs []corpus.Message) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), produceTimeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(st.Brokers...), kgo.DefaultProduceTopic(st.Topic),
		kgo.AllowAutoTopicCreation(), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		b.Fatalf("kafka client: %v", err)
	}
	defer cl.Close()
	var mu sync.Mutex
	var firstErr error
	for _, m := range msgs {
		cl.Produce(ctx, &kgo.Record{Key: []byte(m.Key), Value: m.XML}, func(_ *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatalf("produce: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if firstErr != nil {
		b.Fatalf("produce: %v", firstErr)
	}
}

// runResult is what one worker run measured.
type runResult struct {
	messages int
	busy     time.Duration // worker start to last batch
	cpu      time.Duration // user + system
	maxRSSKB int64
}

func (r *runResult) add(o runResult) {
	r.messages += o.messages
	r.busy += o.busy
	r.cpu += o.cpu
	r.maxRSSKB = max(r.maxRSSKB, o.maxRSSKB)
}

// summaryLine is the worker's last line on standard error.
var summaryLine = regexp.MustCompile(`consume: (\d+) messages \((\d+) dead-lettered\) in (\S+), `)

// consume runs `resingest consume` until the topic is drained and returns
// its figures.
func consume(b *testing.B, bin string, st *harness.Stores, c benchCase) runResult {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), consumeTimeout)
	defer cancel()
	args := append([]string{"consume", "--source", "kafka", "--sinks", c.sinks, "--exit-when-idle", idleExit},
		st.Args()...)
	if v := os.Getenv(envBatchSize); v != "" {
		args = append(args, "--batch-size", v)
	}
	if dir := os.Getenv(envCPUProfile); dir != "" {
		name := strings.ReplaceAll(c.name, "+", "-") + ".pprof"
		args = append(args, "--cpuprofile", filepath.Join(dir, name))
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("resingest consume: %v\n%s", err, tail(stderr.String()))
	}
	if dir := os.Getenv(envLogDir); dir != "" {
		name := strings.ReplaceAll(c.name, "+", "-") + ".log"
		if err := os.WriteFile(filepath.Join(dir, name), stderr.Bytes(), 0o644); err != nil {
			b.Errorf("keep the worker's log: %v", err)
		}
	}
	m := summaryLine.FindStringSubmatch(stderr.String())
	if m == nil {
		b.Fatalf("resingest consume printed no summary:\n%s", tail(stderr.String()))
	}
	n, _ := strconv.Atoi(m[1])
	if m[2] != "0" {
		b.Fatalf("resingest consume dead-lettered %s messages of a clean corpus:\n%s", m[2], tail(stderr.String()))
	}
	busy, err := time.ParseDuration(m[3])
	if err != nil || busy <= 0 {
		b.Fatalf("resingest consume summary: bad duration %q", m[3])
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		b.Fatalf("no resource usage for the worker process")
	}
	return runResult{
		messages: n,
		busy:     busy,
		cpu:      time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		maxRSSKB: ru.Maxrss, // kilobytes on Linux
	}
}

// tail keeps the end of a long log for a failure message.
func tail(s string) string {
	const keep = 4000
	if len(s) > keep {
		return fmt.Sprintf("...%s", s[len(s)-keep:])
	}
	return s
}
