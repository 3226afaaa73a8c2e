package migrate

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/sinks/postgres"
)

// TestWorkerSessionCommitsSynchronously checks that a backfill worker's
// session commits synchronously (its chunks and their progress must survive
// a server crash once the run reports them loaded) even on a pool opened
// without postgres.ParsePoolConfig, on a URL whose sessions default to
// synchronous_commit=off.
func TestWorkerSessionCommitsSynchronously(t *testing.T) {
	t.Parallel()
	base := testenv.PostgresSchema(t)
	ctx := testContext(t)
	if _, err := postgres.MigrateURL(ctx, base); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, testenv.AsyncCommitURL(t, base))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := New(pool, Options{}).prepareSession(ctx, conn); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := conn.QueryRow(ctx, "SHOW synchronous_commit").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != "on" {
		t.Errorf("a backfill worker's session runs with synchronous_commit = %s, want on", v)
	}
}
