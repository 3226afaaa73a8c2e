package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/sinks/postgres"
)

// TestCrashAfterCommit crashes the worker's Postgres (SIGKILL to the
// postmaster and its server processes) the moment a batch's commit becomes
// visible, several times in one run, restarting it after a short pause.
// The server's default is asynchronous commit (synchronous_commit=off, as
// testenv.StartPostgres, scripts/dev-services and some Aurora parameter
// groups run it), so a commit the worker trusted may not have reached the
// WAL on disk when the server dies: unless the worker's sessions commit
// synchronously, the batch is gone from Postgres while its Kafka offsets
// are committed, and nothing brings it back.
//
// Afterwards every reservation must be at its newest version (computed from
// `resingest parse` of the corpus) in Postgres and DynamoDB, every message
// must have exactly one audit row and every poison message its dead
// letter.
func TestCrashAfterCommit(t *testing.T) {
	t.Parallel()
	const (
		messages = 2000
		poison   = 10
		crashes  = 4
		// pause is how long the server stays down after each crash.
		pause = 500 * time.Millisecond
	)
	began := time.Now()
	pg := testenv.StartPostgres(t)
	ctx := context.Background() // the server calls bound themselves
	requireAsyncDefault(t, pg.URL())
	env := e2e.Env(t)
	env.PostgresURL = pg.URL() // the shared server's database stays unused
	if _, err := postgres.MigrateURL(ctx, pg.URL()); err != nil {
		t.Fatalf("migrate the dedicated postgres: %v", err)
	}
	c := e2e.WriteCorpus(t, t.TempDir(), messages, 31, poison)
	want := c.Expected(t)
	e2e.Produce(t, env.Brokers, env.Topic, c.Files, false)
	total := len(c.Files)
	t.Logf("setup: %d messages (%d poison, %d reservations) produced without keys in %v",
		total, len(c.Poison), len(want), time.Since(began).Round(time.Millisecond))

	adm := newKafkaAdmin(t, env.Brokers)
	w := e2e.Start(t, nil, append([]string{"consume", "--batch-size", "100", "--exit-when-idle", "5s"}, env.Args()...)...)
	midStream := 0
	for i := 1; i <= crashes; i++ {
		seen, err := waitAuditGrowth(ctx, pg.URL(), w, time.Minute)
		if err != nil {
			t.Fatalf("crash %d: %v\n%s", i, err, w.Output())
		}
		if err := pg.Crash(); err != nil {
			t.Fatalf("crash %d: %v", i, err)
		}
		if seen < total {
			midStream++
		}
		t.Logf("crash %d: postgres killed as the audit trail reached %d/%d rows", i, seen, total)
		time.Sleep(pause)
		if err := pg.Start(ctx); err != nil {
			t.Fatalf("crash %d: start postgres again: %v", i, err)
		}
	}
	if midStream < 3 {
		t.Fatalf("only %d of %d crashes landed before the corpus was consumed; the test needs at least 3", midStream, crashes)
	}
	if err := w.Wait(2 * time.Minute); err != nil {
		t.Fatalf("worker: %v\n%s", err, w.Output())
	}
	if w.Cmd.ProcessState.Sys().(syscall.WaitStatus).Signaled() {
		t.Fatalf("the worker was killed: %v", w.Cmd.ProcessState)
	}
	t.Logf("worker finished: %s", lastLine(w.Output()))

	e2e.AssertStores(t, env, want)
	e2e.AssertAudit(t, env, c)
	assertAllCommitted(t, adm, env.Group, env.Topic)
	t.Logf("%d crashes, %d reservations and %d messages checked; total %v",
		crashes, len(want), total, time.Since(began).Round(time.Millisecond))
}

// requireAsyncDefault fails the test unless a plain session on url runs
// with synchronous_commit=off: against a server that commits synchronously
// by default, the crash test could not catch a worker that trusts
// asynchronous commits.
func requireAsyncDefault(t testing.TB, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer conn.Close(context.Background())
	var v string
	if err := conn.QueryRow(ctx, "SHOW synchronous_commit").Scan(&v); err != nil {
		t.Fatalf("show synchronous_commit: %v", err)
	}
	if v != "off" {
		t.Fatalf("harness: the test's server runs synchronous_commit=%s by default; the test needs off to catch trusted asynchronous commits", v)
	}
}

// waitAuditGrowth polls the audit trail's row count on one connection,
// as fast as the server answers, and returns as soon as it is larger than
// when it started (a batch's commit became visible). It fails if the
// worker exits or timeout passes first.
func waitAuditGrowth(ctx context.Context, url string, w *e2e.Process, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		conn  *pgx.Conn
		start = -1
		err   error
	)
	defer func() {
		if conn != nil {
			_ = conn.Close(context.Background())
		}
	}()
	for {
		if w.Exited() {
			return 0, errors.New("the worker exited before a batch was committed")
		}
		if conn == nil {
			// The server may still be recovering from the last crash.
			conn, err = pgx.Connect(ctx, url)
		}
		if conn != nil {
			var n int
			if err = conn.QueryRow(ctx, "SELECT count(*) FROM audit").Scan(&n); err != nil {
				_ = conn.Close(context.Background())
				conn = nil
			} else if start < 0 {
				start = n
			} else if n > start {
				return n, nil
			}
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("no new audit row within %v (audit rows: %d, last error: %v)", timeout, start, err)
		}
		if conn == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
}
