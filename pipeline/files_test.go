package pipeline_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// TestRunFilesTwice: a folder of messages (poison included) goes to
// Postgres with one audit row per file and a dead letter per poison file;
// a second run over the same folder stores nothing, rewrites no row and
// adds no audit row or dead letter.
func TestRunFilesTwice(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	c := e2e.WriteCorpus(t, t.TempDir(), 1000, 5, 5)
	want := c.Expected(t)

	parser, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pg := env.Postgres(t)
	proc, err := pipeline.NewProcessor(pipeline.Config{
		Parser:  parser,
		Stores:  []pipeline.NamedSink{{Name: "postgres", Sink: pg}},
		Ledger:  pg,
		Metrics: pipeline.NewMetrics(prometheus.NewRegistry()),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Backoff: sinks.Backoff{Initial: 10 * time.Millisecond, Max: 500 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	run := func() map[pipeline.Outcome]int {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
		defer cancel()
		counts := make(map[pipeline.Outcome]int)
		batches := 0
		err := pipeline.RunFiles(ctx, c.Dir, 300, 0, proc, pipeline.RunOptions{OnBatch: func(outcomes []pipeline.Outcome) {
			batches++
			for _, o := range outcomes {
				counts[o]++
			}
		}})
		if err != nil {
			t.Fatalf("RunFiles: %v", err)
		}
		if wantBatches := (len(c.Files) + 299) / 300; batches != wantBatches {
			t.Errorf("%d batches, want %d of at most 300 files", batches, wantBatches)
		}
		return counts
	}

	first := run()
	if first[pipeline.OutcomeStored]+first[pipeline.OutcomeStale] != len(c.Good) || first[pipeline.OutcomeDeadLettered] != len(c.Poison) {
		t.Errorf("first run: outcomes %v, want %d stored or stale and %d dead_lettered", first, len(c.Good), len(c.Poison))
	}
	e2e.AssertPostgres(t, env, want)
	checkOutcomes(t, c, e2e.AssertAudit(t, env, c), false)
	storedAt := lastStoredAt(t, env)

	second := run()
	newest := newestMessages(c)
	if second[pipeline.OutcomeStored] != 0 || second[pipeline.OutcomeDuplicate] != len(newest) ||
		second[pipeline.OutcomeStale] != len(c.Good)-len(newest) || second[pipeline.OutcomeDeadLettered] != len(c.Poison) {
		t.Errorf("second run: outcomes %v, want %d duplicate (newest versions), %d stale (older ones), %d dead_lettered and none stored",
			second, len(newest), len(c.Good)-len(newest), len(c.Poison))
	}
	e2e.AssertPostgres(t, env, want)
	e2e.AssertAudit(t, env, c) // still one row per file, one letter per poison file
	if got := lastStoredAt(t, env); !got.Equal(storedAt) {
		t.Errorf("the second run rewrote reservations: last stored_at %s, was %s", got, storedAt)
	}
}

// lastStoredAt is the latest write time of any reservation row.
func lastStoredAt(t testing.TB, env *e2e.Stores) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, env.PostgresURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var at time.Time
	if err := conn.QueryRow(ctx, "SELECT max(stored_at) FROM reservations").Scan(&at); err != nil {
		t.Fatal(err)
	}
	return at
}

// newestMessages returns, per reservation, the generator's intent of its
// newest message.
func newestMessages(c *e2e.Corpus) map[reservation.Key]corpus.Expect {
	out := make(map[reservation.Key]corpus.Expect)
	for _, e := range c.Intent {
		k := reservation.Key{HotelCode: e.HotelCode, Confirmation: e.Confirmation}
		if e.Version > out[k].Version {
			out[k] = e
		}
	}
	return out
}

// TestRunFilesNewFileKeepsPositions: a file added to the folder later,
// sorting before the others, gets its own audit row; the files processed
// before keep theirs (positions do not shift with the folder's contents).
func TestRunFilesNewFileKeepsPositions(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	dir := t.TempDir()
	g := corpus.New(corpus.Options{Seed: 11, ModifyRatio: -1, CancelRatio: -1})
	write := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), g.Next().XML, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("m-2.xml")
	write("m-3.xml")
	parser, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pg := env.Postgres(t)
	proc, err := pipeline.NewProcessor(pipeline.Config{
		Parser: parser, Stores: []pipeline.NamedSink{{Name: "postgres", Sink: pg}}, Ledger: pg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	if err := pipeline.RunFiles(ctx, dir, 10, 0, proc, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	write("m-1.xml") // sorts first
	var outcomes []pipeline.Outcome
	if err := pipeline.RunFiles(ctx, dir, 10, 0, proc, pipeline.RunOptions{OnBatch: func(o []pipeline.Outcome) { outcomes = append(outcomes, o...) }}); err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 3 || outcomes[0] != pipeline.OutcomeStored || outcomes[1] != pipeline.OutcomeDuplicate || outcomes[2] != pipeline.OutcomeDuplicate {
		t.Errorf("second run outcomes = %v, want [stored duplicate duplicate]", outcomes)
	}
	ids := map[string]bool{}
	for _, row := range env.AuditRows(t) {
		ids[row.MessageID] = true
	}
	if n := env.Count(t, "audit"); n != 3 || len(ids) != 3 {
		t.Errorf("%d audit rows for %d messages, want 3 rows for 3 (one per file)", n, len(ids))
	}
	if n := env.Count(t, "reservations"); n != 3 {
		t.Errorf("%d reservations, want 3", n)
	}
}
