package testenv

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestStartPostgres checks that a dedicated server starts, keeps committed
// data across a fast shutdown and a restart on the same URL, refuses
// connections while stopped, and tolerates repeated Stop and Start.
func TestStartPostgres(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t)
	ctx := t.Context()

	query := func(sql string, args ...any) (int, error) {
		c, err := pgx.Connect(ctx, pg.URL())
		if err != nil {
			return 0, err
		}
		defer c.Close(context.Background())
		var n int
		err = c.QueryRow(ctx, sql, args...).Scan(&n)
		return n, err
	}
	if _, err := query("SELECT count(*) FROM (SELECT 1) t"); err != nil {
		t.Fatalf("query the new instance: %v", err)
	}
	c, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Exec(ctx, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (41), (1)")
	c.Close(context.Background())
	if err != nil {
		t.Fatalf("create and fill a table: %v", err)
	}

	start := time.Now()
	if err := pg.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("fast shutdown took %v", time.Since(start))
	if err := pg.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := query("SELECT 1"); err == nil {
		t.Fatal("a stopped instance accepted a connection")
	}

	start = time.Now()
	if err := pg.Start(ctx); err != nil {
		t.Fatalf("Start after Stop: %v", err)
	}
	t.Logf("restart took %v", time.Since(start))
	if err := pg.Start(ctx); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	sum, err := query("SELECT sum(n)::int FROM kept")
	if err != nil {
		t.Fatalf("query after restart: %v", err)
	}
	if sum != 42 {
		t.Fatalf("sum after restart = %d, want 42 (committed rows lost)", sum)
	}
}

// TestStartPostgresMissingBinaries checks that the helper fails the test,
// rather than skipping it, when the server binaries are not installed.
func TestStartPostgresMissingBinaries(t *testing.T) {
	t.Setenv(EnvPostgresBin, t.TempDir())
	ft := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		StartPostgres(ft)
	}()
	<-done
	if !ft.failed {
		t.Fatal("StartPostgres did not fail without binaries")
	}
	if ft.skipped {
		t.Fatal("StartPostgres skipped instead of failing")
	}
}

// fatalRecorder records Fatalf/Skip instead of ending the outer test; it
// stops the calling goroutine like the real ones do.
type fatalRecorder struct {
	testing.TB
	failed, skipped bool
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.failed = true
	f.TB.Logf("recorded Fatalf: "+format, args...)
	runtime.Goexit()
}

func (f *fatalRecorder) Skip(args ...any) { f.skipped = true; runtime.Goexit() }

func (f *fatalRecorder) Skipf(format string, args ...any) { f.skipped = true; runtime.Goexit() }

func (f *fatalRecorder) SkipNow() { f.skipped = true; runtime.Goexit() }
