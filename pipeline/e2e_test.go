package pipeline_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/postgres"
)

// TestMain removes the binary the e2e harness builds and gives the AWS SDK
// dummy credentials. It is the only TestMain of package pipeline and
// pipeline_test.
func TestMain(m *testing.M) { e2e.Main(m) }

// e2eTimeout bounds one end-to-end run of a worker.
const e2eTimeout = 2 * time.Minute

// newProcessor returns a Processor writing to env's Postgres and DynamoDB,
// as `resingest consume` wires it, with metrics on a private registry.
func newProcessor(t testing.TB, env *e2e.Stores) (*pipeline.Processor, *pipeline.Metrics) {
	t.Helper()
	parser, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	metrics := pipeline.NewMetrics(prometheus.NewRegistry())
	pg := env.Postgres(t)
	proc, err := pipeline.NewProcessor(pipeline.Config{
		Parser: parser,
		Stores: []pipeline.NamedSink{
			{Name: "postgres", Sink: pg},
			{Name: "dynamo", Sink: env.Dynamo(t)},
		},
		Ledger:  pg,
		Metrics: metrics,
		Logger:  testLogger(t),
		Backoff: sinks.Backoff{Initial: 10 * time.Millisecond, Max: 500 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	return proc, metrics
}

// runKafka runs one in-process worker on env's topic and group until it
// is idle for idle, and returns the outcomes of every batch it
// acknowledged, by outcome.
func runKafka(t testing.TB, env *e2e.Stores, proc *pipeline.Processor, metrics *pipeline.Metrics, idle time.Duration) map[pipeline.Outcome]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	var mu sync.Mutex
	counts := make(map[pipeline.Outcome]int)
	err := pipeline.RunKafka(ctx, pipeline.KafkaConfig{
		Brokers: env.Brokers, Topic: env.Topic, Group: env.Group, FromStart: true, MaxPollRecords: 500,
	}, proc, pipeline.RunOptions{
		ExitWhenIdle: idle,
		Metrics:      metrics,
		Logger:       testLogger(t),
		OnBatch: func(outcomes []pipeline.Outcome) {
			mu.Lock()
			defer mu.Unlock()
			for _, o := range outcomes {
				counts[o]++
			}
		},
	})
	if err != nil {
		t.Fatalf("RunKafka: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("RunKafka did not go idle within %s", e2eTimeout)
	}
	return counts
}

// partitionsOf maps each reservation to the Kafka partitions its messages
// were read from, using the audit rows (message id -> partition) and the
// generator's intent (file -> message id, key).
func partitionsOf(c *e2e.Corpus, rows []postgres.AuditEntry) map[reservation.Key]map[string]bool {
	partition := make(map[string]string, len(rows))
	for _, r := range rows {
		partition[r.MessageID] = r.Partition
	}
	out := make(map[reservation.Key]map[string]bool)
	for _, e := range c.Intent {
		k := reservation.Key{HotelCode: e.HotelCode, Confirmation: e.Confirmation}
		if out[k] == nil {
			out[k] = make(map[string]bool)
		}
		out[k][partition[e.MessageID]] = true
	}
	return out
}

// TestKafkaKeyed: a corpus produced with keys (the versions of a
// reservation stay in order on one partition) into a fresh 8-partition
// topic, consumed by one worker until idle, ends with the newest version
// of every reservation in both stores, every message stored (in order,
// each version is newer than the last) and one audit row per message.
func TestKafkaKeyed(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	c := e2e.WriteCorpus(t, t.TempDir(), 2000, 1, 0)
	want := c.Expected(t)
	e2e.Produce(t, env.Brokers, env.Topic, c.Files, true)

	proc, metrics := newProcessor(t, env)
	counts := runKafka(t, env, proc, metrics, 3*time.Second)
	if counts[pipeline.OutcomeStored]+counts[pipeline.OutcomeStale] != len(c.Files) {
		t.Errorf("outcomes %v, want %d stored or stale", counts, len(c.Files))
	}
	e2e.AssertStores(t, env, want)
	rows := e2e.AssertAudit(t, env, c)
	checkOutcomes(t, c, rows, false)
	for k, parts := range partitionsOf(c, rows) {
		if len(parts) != 1 {
			t.Errorf("keyed: the versions of %s came from %d partitions", k, len(parts))
		}
	}
	used := make(map[string]bool)
	for _, r := range rows {
		used[r.Partition] = true
	}
	if len(used) < 2 {
		t.Errorf("messages came from %d partitions; the test needs a multi-partition topic", len(used))
	}
	if got := counterValue(t, metrics.Outcomes.WithLabelValues("stored")); int(got) != counts[pipeline.OutcomeStored] {
		t.Errorf("metric resingest_messages_out_total{outcome=stored} = %v, want %d", got, counts[pipeline.OutcomeStored])
	}
}

// TestKafkaUnkeyed: without keys the versions of a reservation land on
// different partitions and may be processed out of order; the version
// guard must still leave the newest version in both stores.
func TestKafkaUnkeyed(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	c := e2e.WriteCorpus(t, t.TempDir(), 2000, 2, 0)
	want := c.Expected(t)
	e2e.Produce(t, env.Brokers, env.Topic, c.Files, false)

	proc, metrics := newProcessor(t, env)
	counts := runKafka(t, env, proc, metrics, 3*time.Second)
	if got := counts[pipeline.OutcomeStored] + counts[pipeline.OutcomeStale]; got != len(c.Files) {
		t.Errorf("outcomes %v, want %d stored or stale", counts, len(c.Files))
	}
	e2e.AssertStores(t, env, want)
	rows := e2e.AssertAudit(t, env, c)
	checkOutcomes(t, c, rows, false)
	spread := 0
	for _, parts := range partitionsOf(c, rows) {
		if len(parts) > 1 {
			spread++
		}
	}
	if spread == 0 {
		t.Errorf("no reservation has versions on two partitions: the test does not exercise the version guard")
	}
	t.Logf("%d reservations with versions on several partitions; outcomes %v", spread, counts)
}

// TestKafkaPoison: poison messages of every kind, mixed into the stream,
// are each dead-lettered once, redacted, with the reason class of the
// parse error, counted by class in the metrics, and do not hold up the
// messages behind them.
func TestKafkaPoison(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	c := e2e.WriteCorpus(t, t.TempDir(), 1000, 3, 10)
	want := c.Expected(t)
	e2e.Produce(t, env.Brokers, env.Topic, c.Files, true)

	proc, metrics := newProcessor(t, env)
	counts := runKafka(t, env, proc, metrics, 3*time.Second)
	if counts[pipeline.OutcomeDeadLettered] != len(c.Poison) || counts[pipeline.OutcomeStored]+counts[pipeline.OutcomeStale] != len(c.Good) {
		t.Errorf("outcomes %v, want %d stored or stale and %d dead_lettered", counts, len(c.Good), len(c.Poison))
	}
	e2e.AssertStores(t, env, want)
	checkOutcomes(t, c, e2e.AssertAudit(t, env, c), false)

	byReason := make(map[string]int)
	for _, p := range c.Poison {
		byReason[p.Reason]++
	}
	for reason, n := range byReason {
		if got := counterValue(t, metrics.DeadLetters.WithLabelValues(reason)); int(got) != n {
			t.Errorf("metric resingest_dead_letters_total{reason=%q} = %v, want %d", reason, got, n)
		}
	}
}

// TestKafkaWorkerKilled: two worker processes share a group; one is
// killed with SIGKILL after it stored some batches, so its batch in flight
// is neither finished nor committed. The other takes over its partitions
// once the dead member's session expires, and the run ends with every
// reservation stored and exactly one audit row per message, although the
// killed worker's uncommitted records are delivered again.
func TestKafkaWorkerKilled(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	c := e2e.WriteCorpus(t, t.TempDir(), 2000, 4, 5)
	want := c.Expected(t)
	e2e.Produce(t, env.Brokers, env.Topic, c.Files, true)

	args := append([]string{"consume", "--source", "kafka", "--batch-size", "100", "--exit-when-idle", "2m"}, env.Args()...)
	// A dead member keeps its partitions until its session expires: 45s
	// by default. The worker reads RESINGEST_SESSION_TIMEOUT when it has
	// a --session-timeout flag (6s is the broker's minimum).
	procEnv := []string{"RESINGEST_SESSION_TIMEOUT=6s"}
	victim := e2e.Start(t, procEnv, args...)
	survivor := e2e.Start(t, procEnv, args...)

	// Kill the victim once it has acknowledged a batch and is working on
	// more (its partitions are not finished).
	deadline := time.Now().Add(time.Minute)
	for countBatches(victim.Output()) < 2 {
		if time.Now().After(deadline) || victim.Exited() {
			t.Fatalf("the first worker stored no batches within a minute (exited: %v)", victim.Exited())
		}
		time.Sleep(20 * time.Millisecond)
	}
	victim.Kill()
	stored := env.Count(t, "audit")
	if stored >= len(c.Files) {
		t.Fatalf("all %d messages were stored before the kill; the test needs a larger corpus", stored)
	}
	t.Logf("killed the first worker after %d audit rows", stored)

	if got := env.WaitCount(t, "audit", len(c.Files), 90*time.Second); got != len(c.Files) {
		t.Fatalf("the surviving worker stopped at %d audit rows of %d", got, len(c.Files))
	}
	if err := survivor.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := survivor.Wait(time.Minute); err != nil {
		t.Errorf("surviving worker after SIGTERM: %v", err)
	}
	e2e.AssertStores(t, env, want)
	checkOutcomes(t, c, e2e.AssertAudit(t, env, c), true)
}

// countBatches counts the "batch stored" log lines of a consume worker.
func countBatches(output string) int { return strings.Count(output, `msg="batch stored"`) }

// counterValue reads a counter of the pipeline's metrics.
func counterValue(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// checkOutcomes checks each good message's audit outcome against the
// generator's intent: the newest version of a reservation is stored (nothing
// newer exists to make it stale), an older one stored or stale (stale when
// a newer version was stored before it or came in the same batch).
// redelivered allows duplicate too: a message stored by a worker that died
// before writing its audit row is audited when it is delivered again.
func checkOutcomes(t testing.TB, c *e2e.Corpus, rows []postgres.AuditEntry, redelivered bool) {
	t.Helper()
	newest := make(map[reservation.Key]int)
	byID := make(map[string]corpus.Expect, len(c.Intent))
	for _, e := range c.Intent {
		k := reservation.Key{HotelCode: e.HotelCode, Confirmation: e.Confirmation}
		newest[k] = max(newest[k], e.Version)
		byID[e.MessageID] = e
	}
	bad := 0
	for _, r := range rows {
		e, ok := byID[r.MessageID]
		if !ok {
			continue // poison
		}
		k := reservation.Key{HotelCode: e.HotelCode, Confirmation: e.Confirmation}
		allowed := r.Outcome == e2e.OutcomeStored || (redelivered && r.Outcome == e2e.OutcomeDuplicate)
		if e.Version < newest[k] {
			allowed = allowed || r.Outcome == e2e.OutcomeStale
		}
		if !allowed {
			if bad++; bad <= 10 {
				t.Errorf("version %d of %d of %s (%s@%s): outcome %s", e.Version, newest[k], k, r.Partition, r.Position, r.Outcome)
			}
		}
	}
	if bad > 10 {
		t.Errorf("%d messages with a wrong outcome", bad)
	}
}

// testLogger logs through t.Log, so a worker's log shows with the test
// that ran it (and only with -v or on failure). It must not be used after
// the test ends.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
