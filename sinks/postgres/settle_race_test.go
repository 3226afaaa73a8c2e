package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/reservation"
)

// waitForLockWaiter returns once a session of db's database waits for a
// lock (the statement under test is blocked where the race happens).
func waitForLockWaiter(t *testing.T, ctx context.Context, db pgExecQuerier) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows, err := db.Query(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if _, err := pgx.ForEachRow(rows, []any{&n}, func() error { return nil }); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no session waited for a lock within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// holdOne holds a record of confirmation conf for the message at
// (kafka, t/0, pos) received at received and returns it as stored.
func holdOne(t *testing.T, ctx context.Context, s *Sink, conf, pos string, received time.Time) PendingRecord {
	t.Helper()
	if err := s.Hold(ctx, []PendingRecord{{
		Reservation: reservation.Reservation{Confirmation: conf}, Version: "v1",
		Source: "kafka", Partition: "t/0", Position: pos, MessageID: "m-" + pos, ReceivedAt: received,
	}}); err != nil {
		t.Fatal(err)
	}
	held, err := s.PendingFor(ctx, []string{conf})
	if err != nil || len(held) != 1 {
		t.Fatalf("PendingFor: %v, %v", held, err)
	}
	return held[0]
}

// auditOutcomes returns the outcomes of the audit rows of position pos.
func auditOutcomes(t *testing.T, ctx context.Context, s *Sink, pos string) []string {
	t.Helper()
	rows, err := s.pool.Query(ctx, `SELECT outcome FROM audit WHERE position = $1 ORDER BY id`, pos)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var o string
	if _, err := pgx.ForEachRow(rows, []any{&o}, func() error { out = append(out, o); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSettleWhileTheHoldersAuditWriteIsInFlight is the race that left a
// message "held" for ever in TestKafkaKeyResolution: the holder's own
// audit row ("held") is being written when another worker settles the
// record. The settling statement does not see the uncommitted row, its
// insert then meets it and does nothing; it must look again.
func TestSettleWhileTheHoldersAuditWriteIsInFlight(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s, url := newTestSink(t)
	received := time.Now().UTC().Truncate(time.Millisecond)
	rec := holdOne(t, ctx, s, "RACE1", "7", received)

	holder, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(context.Background())
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, writeAuditSQL, append([]any{[]string{"m-7"}, []string{"kafka"}, []string{"t/0"}, []string{"7"},
		[]time.Time{received}, []*time.Time{nil}, []string{"held"}, []string{""}, []time.Duration{0}}, noLineage...)...); err != nil {
		t.Fatal(err)
	}

	type result struct {
		n   int
		err error
	}
	settled := make(chan result, 1)
	go func() {
		n, err := s.FinishPending(ctx, []PendingDone{{Record: &rec, Outcome: "resolved"}})
		settled <- result{n, err}
	}()
	waitForLockWaiter(t, ctx, s.pool)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-settled
	if r.err != nil || r.n != 1 {
		t.Fatalf("FinishPending: %d settled, %v; want 1", r.n, r.err)
	}
	if got := auditOutcomes(t, ctx, s, "7"); len(got) != 1 || got[0] != "resolved" {
		t.Fatalf("audit rows of the message: %v, want [resolved]", got)
	}
}

// TestPartitionMoveWaitsForWriters: a month's rows wait in the default
// partition while a writer's transaction adds one more; the upkeep that
// creates the month's partition waits for that writer and moves every row,
// and a held message settled meanwhile gets its outcome. (Without the
// lock, the move missed the writer's row and the ATTACH failed on it.)
func TestPartitionMoveWaitsForWriters(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s, url := newTestSink(t)
	m := month(2031, time.March)
	received := m.AddDate(0, 0, 9)
	rec := holdOne(t, ctx, s, "RACE2", "1", received)
	if err := s.WriteAudit(ctx, []AuditRow{{MessageID: "m-1", Source: "kafka", Partition: "t/0", Position: "1",
		ReceivedAt: received, Outcome: "held"}}); err != nil {
		t.Fatal(err)
	}

	writer, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close(context.Background())
	tx, err := writer.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, writeAuditSQL, append([]any{[]string{"m-2"}, []string{"kafka"}, []string{"t/0"}, []string{"2"},
		[]time.Time{received}, []*time.Time{nil}, []string{"stored"}, []string{""}, []time.Duration{0}}, noLineage...)...); err != nil {
		t.Fatal(err)
	}

	moved := make(chan error, 1)
	go func() {
		_, err := s.pool.Exec(ctx, `SELECT resingest_month_partition('audit', 'received_month', $1::date)`, m)
		moved <- err
	}()
	waitForLockWaiter(t, ctx, s.pool)
	settled := make(chan error, 1)
	go func() {
		_, err := s.FinishPending(ctx, []PendingDone{{Record: &rec, Outcome: "resolved"}})
		settled <- err
	}()
	time.Sleep(100 * time.Millisecond) // let the settling statement queue behind the move
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-moved; err != nil {
		t.Fatalf("creating the month's partition: %v", err)
	}
	if err := <-settled; err != nil {
		t.Fatalf("FinishPending: %v", err)
	}
	if got := rowsByPartition(t, ctx, s.pool, "audit"); len(got) != 1 || got[0] != "audit_203103:2" {
		t.Fatalf("audit rows by partition: %v, want both in audit_203103", got)
	}
	if got := auditOutcomes(t, ctx, s, "1"); len(got) != 1 || got[0] != "resolved" {
		t.Fatalf("audit rows of the held message: %v, want [resolved]", got)
	}
}

// TestInsertDuringPartitionCreation: a row written while its month's
// partition is being created waits for it and lands in it. (Before, the
// INSERT was routed to the default partition and then failed on its
// changed constraint, SQLSTATE 23514, and the API lost the PII access
// rows of the month.)
func TestInsertDuringPartitionCreation(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s, url := newTestSink(t)
	m := month(2031, time.May)
	upkeep, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer upkeep.Close(context.Background())
	tx, err := upkeep.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT resingest_month_partition('pii_access', 'accessed_month', $1::date)`, m); err != nil {
		t.Fatal(err)
	}
	written := make(chan error, 1)
	go func() {
		written <- s.WritePIIAccess(ctx, []PIIAccess{{At: m.AddDate(0, 0, 9), RequestID: "r", CallerKind: "guest",
			CallerID: "g", HotelCode: "H", Confirmation: "C", Fields: []string{"email"}}})
	}()
	waitForLockWaiter(t, ctx, s.pool)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-written; err != nil {
		t.Fatalf("a PII access row written while its partition was created: %v", err)
	}
	if got := rowsByPartition(t, ctx, s.pool, "pii_access"); len(got) != 1 || got[0] != "pii_access_203105:1" {
		t.Fatalf("pii_access rows by partition: %v, want one in pii_access_203105", got)
	}
}

// noLineage are writeAuditSQL's lineage parameters ($10-$19) for audit
// rows without records.
var noLineage = []any{[]int32{}, []int32{}, []string{}, []string{}, []string{}, []string{}, []string{}, []string{}, []string{}, []string{}}
