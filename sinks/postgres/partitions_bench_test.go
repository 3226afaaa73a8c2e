package postgres

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/resingest/resingest/internal/testenv"
)

// flatAuditDDL and flatWriteAuditSQL are the audit table and its write as
// they were before migration 0010 (one unpartitioned table), for
// BenchmarkAuditPartitioned's comparison.
const (
	flatAuditDDL = `
CREATE TABLE audit_flat (
    id          bigserial   PRIMARY KEY,
    message_id  text        NOT NULL DEFAULT '',
    source      text        NOT NULL DEFAULT '',
    partition   text        NOT NULL DEFAULT '',
    position    text        NOT NULL DEFAULT '',
    received_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    outcome     text        NOT NULL,
    error       text        NOT NULL DEFAULT '',
    latency     interval    NOT NULL DEFAULT '0'
);
CREATE INDEX audit_flat_message_id_idx ON audit_flat (message_id) WHERE message_id <> '';
CREATE UNIQUE INDEX audit_flat_position_idx ON audit_flat (source, partition, position) WHERE position <> '';
CREATE INDEX audit_flat_received_at_idx ON audit_flat (received_at)`

	flatWriteAuditSQL = `
INSERT INTO audit_flat (message_id, source, partition, position, received_at, stored_at,
	outcome, error, latency)
SELECT message_id, source, partition, position, received_at, coalesce(stored_at, now()),
	outcome, error, latency
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
	$6::timestamptz[], $7::text[], $8::text[], $9::interval[])
	AS t(message_id, source, partition, position, received_at, stored_at, outcome, error, latency)
ON CONFLICT (source, partition, position) WHERE position <> '' DO NOTHING`
)

// BenchmarkAuditPartitioned writes the same audit rows, 500 a statement,
// into the month-partitioned audit table (writeAuditSQL, with its check of
// the month before) and into the unpartitioned table of before migration
// 0010, alternating, over one connection, and reports the server CPU its
// backend spent per 1,000 rows for each (from /proc: the benchmark and
// the server must share the machine) and their ratio; and the same rows
// with the lineage of one record each (audit_records, migration 0013).
func BenchmarkAuditPartitioned(b *testing.B) {
	ctx := testContext(b)
	s, _ := newTestSink(b)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, flatAuditDDL); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := EnsureMonthPartitions(ctx, conn, now.AddDate(0, -1, 0), 2); err != nil {
		b.Fatal(err)
	}
	var pid int
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		b.Fatal(err)
	}
	const rows, batches = 500, 40
	used := map[string]time.Duration{}
	n := 0
	for range b.N {
		for i := 0; i < batches; i++ {
			cols := make([][]string, 8)
			received, stored := make([]time.Time, rows), make([]time.Time, rows)
			latency := make([]time.Duration, rows)
			for j := 0; j < rows; j++ {
				n++
				for k, v := range []string{"m" + strconv.Itoa(n), "kafka", "reservations/" + strconv.Itoa(n%8), strconv.Itoa(n), "stored", ""} {
					cols[k] = append(cols[k], v)
				}
				received[j], stored[j], latency[j] = now, now, time.Millisecond
			}
			args := []any{cols[0], cols[1], cols[2], cols[3], received, stored, cols[4], cols[5], latency}
			// The lineage of one record per message (migration 0013).
			var lin auditRecordColumns
			for j := 0; j < rows; j++ {
				m := n - rows + j + 1
				lin.add(j+1, AuditRecord{HotelCode: "H" + strconv.Itoa(m%100), Confirmation: "C" + strconv.Itoa(m),
					Version: "2026-12-01T10:00:00.000000000Z|" + strconv.Itoa(m), Action: "create",
					MessageType: "OTA_HotelResNotifRQ", ArchiveKey: "raw/dt=2026-12-01/hotel=H/" + strconv.Itoa(m), Outcome: "stored"})
			}
			withLineage := append(append([]any{}, args...), lin.row, lin.ordinal, lin.hotel, lin.conf, lin.version,
				lin.action, lin.msgType, lin.archiveKey, lin.outcome, lin.mapping)
			// The partitioned runs use their own positions, so that each
			// writes new rows.
			for _, w := range []struct {
				name, sql string
				args      []any
			}{
				{"partitioned", writeAuditSQL, append(append([]any{}, args...), noLineage...)},
				{"flat", flatWriteAuditSQL, args},
				{"lineage", writeAuditSQL, withLineage},
			} {
				if w.name == "lineage" {
					w.args[1] = sourceNamed(rows, "kinesis") // other source positions than "partitioned"
				}
				before := backendCPU(b, pid)
				if _, err := conn.Exec(ctx, w.sql, w.args...); err != nil {
					b.Fatal(err)
				}
				used[w.name] += backendCPU(b, pid) - before
			}
		}
	}
	total := float64(b.N * batches * rows)
	part := used["partitioned"].Seconds() / total * 1000
	flat := used["flat"].Seconds() / total * 1000
	b.ReportMetric(part, "partitioned-cpu-s/1000rows")
	b.ReportMetric(flat, "flat-cpu-s/1000rows")
	b.ReportMetric(part/flat, "partitioned/flat")
	lin := used["lineage"].Seconds() / total * 1000
	b.ReportMetric(lin, "lineage-cpu-s/1000rows")
	b.ReportMetric(lin/part, "lineage/partitioned")
}

// sourceNamed is n copies of name (a source column).
func sourceNamed(n int, name string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = name
	}
	return out
}

// backendCPU is a server process's CPU time so far; it skips b when the
// server does not run on this machine.
func backendCPU(b *testing.B, pid int) time.Duration {
	d, err := testenv.ProcessCPU(pid)
	if err != nil {
		b.Skipf("the server's process is not visible here (%v): run it on this machine", err)
	}
	return d
}

// BenchmarkPartitionMigration times migration 0010 in place over an audit
// table of RESINGEST_BENCH_AUDIT_ROWS rows (default 1,000,000) spread over
// ten months, as an operator upgrading a live database would run it, and
// reports rows per second.
func BenchmarkPartitionMigration(b *testing.B) {
	rows := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("RESINGEST_BENCH_AUDIT_ROWS")); err == nil && v > 0 {
		rows = v
	}
	var took time.Duration
	for range b.N {
		b.StopTimer()
		ctx := testContext(b)
		conn, err := ConnectURL(ctx, testenv.PostgresSchema(b))
		if err != nil {
			b.Fatal(err)
		}
		migrateBefore(b, ctx, conn, 10)
		// Ten months at an even rate.
		step := time.Duration(int64(300*24*time.Hour) / int64(rows))
		if _, err := conn.Exec(ctx, `INSERT INTO audit (message_id, source, partition, position, received_at, outcome)
			SELECT 'urn:uuid:' || md5(i::text), 'kafka', 'reservations/' || (i % 8), i::text,
				timestamptz '2026-01-01 00:00:00+00' + i * $2::interval, 'stored'
			FROM generate_series(1, $1::int) i`, rows, step); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := Migrate(ctx, conn); err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		b.StopTimer()
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM audit`).Scan(&n); err != nil || n != rows {
			b.Fatalf("%d audit rows after the migration (%v), want %d", n, err, rows)
		}
		conn.Close(context.Background())
	}
	b.ReportMetric(float64(rows*b.N)/took.Seconds(), "audit-rows/s")
	b.ReportMetric(took.Seconds()/float64(b.N), "s/migration")
}
