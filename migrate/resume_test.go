package migrate

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// appendBadLines appends malformed rows to a plain extract file.
func appendBadLines(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("1234567890,H00001,AZ,Reserved,yesterday,,2024-01-01,2024-01-02,KNG,BAR,1,0,1.00,1.00,USD,A,B,a@example.com,1,,\n" +
		"too,few,fields\n"); err != nil {
		t.Fatal(err)
	}
}

// TestResumeAfterKill cancels loads at random chunks, mid-transaction for
// the other worker, restarts them until one finishes, and compares both
// stores with an uninterrupted load of the same files.
func TestResumeAfterKill(t *testing.T) {
	t.Parallel()
	paths := genExtract(t, 6000, 3, false)
	for _, p := range paths {
		appendBadLines(t, p)
	}
	opts := func(c *clientTable) Options {
		return Options{Workers: 2, ChunkRows: 400, Dynamo: c.client, DynamoTable: c.table}
	}

	// Both loads use a dynalite of their own: the test aborts requests at
	// random (see privateDynamo).
	refDB, _ := testDB(t)
	ref := privateDynamo(t)
	if _, err := New(refDB, opts(ref)).Run(testContext(t), paths); err != nil {
		t.Fatalf("uninterrupted run: %v", err)
	}

	db, _ := testDB(t)
	ct := &clientTable{client: ref.client, table: newPrivateTable(testContext(t), t, ref.client)}
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), 7))
	kills := 0
	for run := 0; ; run++ {
		if run > 100 {
			t.Fatal("the load never finished")
		}
		ctx, cancel := context.WithCancel(testContext(t))
		stopAt := 1 + rng.Int64N(6)
		if run%2 == 1 {
			// Every other run dies at a random moment instead: inside a
			// COPY, a merge, a DynamoDB batch or a commit.
			stopAt = -1
			timer := time.AfterFunc(time.Duration(rng.Int64N(int64(400*time.Millisecond))), cancel)
			defer timer.Stop()
		}
		var chunks atomic.Int64
		o := opts(ct)
		o.afterChunk = func(string, int64) {
			if chunks.Add(1) == stopAt {
				cancel()
			}
		}
		_, err := New(db, o).Run(ctx, paths)
		cancel()
		if err == nil {
			break
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("run %d: %v", run, err)
		}
		kills++
	}
	if kills < 3 {
		t.Errorf("only %d interrupted runs; the test proves little", kills)
	}
	t.Logf("%d interrupted runs", kills)
	if got, want := dumpPG(t, db), dumpPG(t, refDB); got != want {
		t.Errorf("Postgres after resumed runs differs: %s", diffLines(got, want))
		_ = os.WriteFile("/tmp/migrate-got.txt", []byte(got), 0o644)
		_ = os.WriteFile("/tmp/migrate-want.txt", []byte(want), 0o644)
	}
	if n := countRows(t, db, `SELECT count(*) FROM backfill_rejects`); n != 2*len(paths) {
		t.Errorf("%d rejects recorded, want %d", n, 2*len(paths))
	}
	if got, want := join(dumpDynamo(t, ct.client, ct.table)), join(dumpDynamo(t, ref.client, ref.table)); got != want {
		t.Errorf("DynamoDB after resumed runs differs: %s", diffLines(got, want))
	}
}

func TestChangedFileRefused(t *testing.T) {
	t.Parallel()
	db, _ := testDB(t)
	paths := genExtract(t, 1000, 1, false)
	ctx, cancel := context.WithCancel(testContext(t))
	o := Options{Workers: 1, ChunkRows: 200}
	o.afterChunk = func(string, int64) { cancel() }
	if _, err := New(db, o).Run(ctx, paths); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want it cancelled", err)
	}
	appendBadLines(t, paths[0])
	_, err := New(db, Options{Workers: 1, ChunkRows: 200}).Run(testContext(t), paths)
	var fc *FileChangedError
	if !errors.Is(err, ErrFileChanged) || !errors.As(err, &fc) || fc.Path != paths[0] {
		t.Errorf("resuming a changed file: %v, want a FileChangedError", err)
	}
}
