package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/resingest/resingest/sinks"
)

func TestClassify(t *testing.T) {
	pg := func(code string) error { return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code}) }
	tests := []struct {
		name      string
		err       error
		retryable bool
	}{
		{"serialization failure", pg("40001"), true},
		{"deadlock", pg("40P01"), true},
		{"admin shutdown", pg("57P01"), true},
		{"cannot connect now", pg("57P03"), true},
		{"too many connections", pg("53300"), true},
		{"connection failure class 08", pg("08006"), true},
		{"unique violation", pg("23505"), false},
		{"foreign key violation", pg("23503"), false},
		{"numeric overflow", pg("22003"), false},
		{"undefined table", pg("42P01"), false},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, true},
		{"unexpected EOF", fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), true},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), true},
		{"cancelled by the caller", fmt.Errorf("query: %w", context.Canceled), false},
		{"already retryable", sinks.Retryable(errors.New("x")), true},
		{"unknown", errors.New("something else"), false},
		{"no rows", pgx.ErrNoRows, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if sinks.IsRetryable(got) != tt.retryable {
				t.Errorf("classify(%v) retryable = %v, want %v", tt.err, !tt.retryable, tt.retryable)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("classify(%v) lost the cause", tt.err)
			}
		})
	}
	if classify(nil) != nil {
		t.Error("classify(nil) != nil")
	}
}

// TestClassifyStoreFailures: a missing schema, refused credentials or
// privileges and an unreachable or overloaded server are failures of the
// store (never of a record); data errors are not.
func TestClassifyStoreFailures(t *testing.T) {
	pg := func(code string) error { return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code}) }
	tests := []struct {
		name  string
		err   error
		class sinks.StoreClass // "": not a store failure
	}{
		{"undefined table", pg("42P01"), sinks.ClassMissing},
		{"undefined column", pg("42703"), sinks.ClassMissing},
		{"invalid catalog name", pg("3D000"), sinks.ClassMissing},
		{"invalid schema name", pg("3F000"), sinks.ClassMissing},
		{"insufficient privilege", pg("42501"), sinks.ClassPermission},
		{"invalid password", pg("28P01"), sinks.ClassPermission},
		{"invalid authorization", pg("28000"), sinks.ClassPermission},
		{"statement timeout", pg("57014"), sinks.ClassUnavailable},
		{"admin shutdown", pg("57P01"), sinks.ClassUnavailable},
		{"disk full", pg("53100"), sinks.ClassUnavailable},
		{"read-only after fail-over", pg("25006"), sinks.ClassUnavailable},
		{"connection failure", pg("08006"), sinks.ClassUnavailable},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, sinks.ClassUnavailable},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), sinks.ClassUnavailable},
		{"serialization failure", pg("40001"), ""},
		{"unique violation", pg("23505"), ""},
		{"numeric overflow", pg("22003"), ""},
		{"unknown", errors.New("x"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			se, ok := sinks.AsStoreError(classify(tt.err))
			switch {
			case tt.class == "" && ok:
				t.Errorf("classify(%v) = store error %q, want none", tt.err, se.Class)
			case tt.class != "" && (!ok || se.Class != tt.class || se.Store != "postgres"):
				t.Errorf("classify(%v) = %v, want a postgres store error of class %s", tt.err, classify(tt.err), tt.class)
			case tt.class == sinks.ClassMissing && se.Fix == "":
				t.Errorf("classify(%v): a missing schema names no fix", tt.err)
			}
		})
	}
}

func TestNewUnreachableIsRetryable(t *testing.T) {
	t.Parallel()
	// A loopback port that nobody listens on (any more).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = New(ctx, "postgres://nobody@"+addr+"/none?connect_timeout=5", Options{})
	if err == nil || !sinks.IsRetryable(err) {
		t.Fatalf("New(unreachable) = %v, want a retryable error", err)
	}
}

// A write whose backend is terminated mid-statement (as on a fail-over or
// an admin shutdown) fails as a whole with a retryable error, and the next
// write goes through on a fresh connection.
func TestWriteBackendTerminatedIsRetryable(t *testing.T) {
	t.Parallel()
	s, url := newTestSink(t)
	ctx := testContext(t)

	// The blocker holds an uncommitted insert of the key, so the sink's
	// statement waits on it, in flight, until its backend is terminated.
	blocker, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Close(context.Background())
	rec := fullRecord(t, "HT", "C1", at(1), "1")
	tx, err := blocker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO reservations (hotel_code, confirmation, action, version)
		VALUES ('HT', 'C1', 'create', '')`); err != nil {
		t.Fatal(err)
	}

	type written struct {
		res []sinks.Result
		err error
	}
	done := make(chan written, 1)
	go func() {
		res, err := s.Write(ctx, []sinks.Record{rec, fullRecord(t, "HT", "C2", at(1), "1")})
		done <- written{res, err}
	}()

	var pid int32
	deadline := time.Now().Add(30 * time.Second)
	for pid == 0 {
		err := tx.QueryRow(ctx, `SELECT coalesce(max(pid), 0) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`).Scan(&pid)
		if err != nil {
			t.Fatal(err)
		}
		if pid == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the write never waited on the blocker's lock")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var terminated bool
	if err := tx.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&terminated); err != nil || !terminated {
		t.Fatalf("pg_terminate_backend: %v %v", terminated, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	w := <-done
	t.Logf("write on a terminated backend: %v", w.err)
	if w.err == nil || !sinks.IsRetryable(w.err) {
		t.Fatalf("Write with terminated backend: err = %v, want retryable", w.err)
	}
	for i, r := range w.res {
		if r.Outcome != sinks.Failed || !sinks.IsRetryable(r.Err) {
			t.Errorf("record %d: %s, want failed and retryable", i, outcomes(w.res))
		}
	}

	res, err := s.Write(ctx, []sinks.Record{rec})
	if err != nil || res[0].Outcome != sinks.Stored {
		t.Fatalf("write after the termination: %s (%v), want stored", outcomes(res), err)
	}
}

func TestNewInvalidURLHidesPassword(t *testing.T) {
	ctx := testContext(t)
	for _, url := range []string{"postgres://u:s3cret@127.0.0.1:notaport/db", "host=x password=s3cret port=oops"} {
		_, err := New(ctx, url, Options{})
		if err == nil || sinks.IsRetryable(err) {
			t.Fatalf("New(invalid URL) = %v, want a permanent error", err)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("New(invalid URL) error %q leaks the password", err)
		}
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t)
	s.Close()
	s.Close() // and once more by the test's cleanup
	_, err := s.Write(testContext(t), []sinks.Record{fullRecord(t, "HZ", "C1", at(0), "1")})
	if err == nil {
		t.Fatal("Write on a closed sink succeeded")
	}
}
