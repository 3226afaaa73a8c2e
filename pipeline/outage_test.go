package pipeline_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/sinks/postgres"
)

// TestPostgresOutage stops the worker's Postgres for 20 s in the middle of
// a run and starts it again. The worker must keep retrying (not exit),
// must not commit offsets past records that are not stored while the
// database is down, and must then finish by itself with everything stored
// once and nothing lost.
//
// Postgres is a server of the test's own (testenv.StartPostgres): the
// shared one must never be stopped. DynamoDB stays up, so the worker's
// batches are half written during the outage, which the version guard
// makes harmless when they are written again.
func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	const (
		messages = 3000
		poison   = 5
		outage   = 20 * time.Second
		// stopAfter audit rows the database goes down: some batches are
		// stored, most are not.
		stopAfter = 600
	)
	began := time.Now()
	pg := testenv.StartPostgres(t)
	env := e2e.Env(t)
	// The worker and every check use the dedicated server; the database
	// Env made on the shared one stays unused.
	env.PostgresURL = pg.URL()
	ctx := context.Background() // the server calls bound themselves
	if _, err := postgres.MigrateURL(ctx, pg.URL()); err != nil {
		t.Fatalf("migrate the dedicated postgres: %v", err)
	}
	c := e2e.WriteCorpus(t, t.TempDir(), messages, 23, poison)
	want := c.Expected(t)
	e2e.Produce(t, env.Brokers, env.Topic, c.Files, true)
	total := len(c.Files)
	t.Logf("setup: %d messages (%d poison, %d reservations) produced with keys in %v",
		total, len(c.Poison), len(want), time.Since(began).Round(time.Millisecond))

	adm := newKafkaAdmin(t, env.Brokers)
	w := e2e.Start(t, nil, append([]string{"consume", "--batch-size", "100", "--exit-when-idle", "3s"}, env.Args()...)...)
	if n := env.WaitCount(t, "audit", stopAfter, time.Minute); n < stopAfter {
		t.Fatalf("only %d audit rows within a minute:\n%s", n, w.Output())
	}

	// Freeze the worker while the database goes down, so that the audit
	// trail read just before is exactly what was stored when the outage
	// began. A batch audited but not yet committed is committed after
	// SIGCONT, which is fine: it is stored.
	if err := w.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // requests sent before the stop land
	stored := auditedOffsets(t, env.PostgresURL)
	before := committedOffsets(t, adm, env.Group, env.Topic)
	assertCommitsAudited(t, "before the outage", before, stored)
	if err := pg.Stop(ctx); err != nil {
		t.Fatalf("stop postgres: %v", err)
	}
	down := time.Now()
	if err := w.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if stored.count() >= int64(total) {
		t.Fatalf("all %d messages were stored before the outage began; nothing to test", total)
	}
	t.Logf("postgres stopped with %d/%d messages audited, %d committed", stored.count(), total, sumOffsets(before))

	// During the outage: the worker is alive and retrying, and commits
	// stay within what was stored before the outage (and stop moving
	// once the batch audited just before it, if any, is committed).
	retriesAtStop := strings.Count(w.Output(), `retrying"`)
	var settled int64 = -1
	var retriesMid int
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for ; time.Since(down) < outage; <-tick.C {
		if w.Exited() {
			t.Fatalf("the worker exited %v into the outage instead of retrying:\n%s", time.Since(down).Round(time.Second), w.Output())
		}
		committed := committedOffsets(t, adm, env.Group, env.Topic)
		assertCommitsAudited(t, "during the outage", committed, stored)
		sum := sumOffsets(committed)
		switch {
		case time.Since(down) < 2*time.Second:
		case settled < 0:
			settled = sum
		case sum != settled:
			t.Errorf("%v into the outage the committed offsets moved from %d to %d records while nothing could be stored",
				time.Since(down).Round(time.Second), settled, sum)
			settled = sum
		}
		if retriesMid == 0 && time.Since(down) >= outage/2 {
			retriesMid = strings.Count(w.Output(), `retrying"`)
		}
	}
	retriesEnd := strings.Count(w.Output(), `retrying"`)
	t.Logf("outage of %v: the worker logged %d retries (%d in the second half); committed offsets held at %d",
		time.Since(down).Round(time.Millisecond), retriesEnd-retriesAtStop, retriesEnd-retriesMid, settled)
	if retriesMid <= retriesAtStop || retriesEnd <= retriesMid {
		t.Errorf("the worker did not keep retrying through the outage (retries logged: %d at the stop, %d halfway, %d at the end)",
			retriesAtStop, retriesMid, retriesEnd)
	}

	if err := pg.Start(ctx); err != nil {
		t.Fatalf("start postgres again: %v", err)
	}
	up := time.Now()
	if err := w.Wait(90 * time.Second); err != nil {
		t.Fatalf("worker after the outage: %v\n%s", err, w.Output())
	}
	t.Logf("worker finished %v after postgres came back: %s", time.Since(up).Round(time.Millisecond), lastLine(w.Output()))

	e2e.AssertStores(t, env, want)
	e2e.AssertAudit(t, env, c)
	assertAllCommitted(t, adm, env.Group, env.Topic)
	t.Logf("total %v", time.Since(began).Round(time.Millisecond))
}
