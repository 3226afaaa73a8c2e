package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The tables that grow with traffic are partitioned by month (migration
// 0010): each has one partition per UTC month, named TABLE_YYYYMM, and a
// TABLE_default partition that catches rows for a month whose partition
// does not exist yet (so a write never fails for want of one; creating the
// month's partition later moves them in).
const (
	TableAudit        = "audit"
	TableAuditRecords = "audit_records" // migration 0013; kept as long as audit
	TableDeadLetters  = "dead_letters"
	TablePIIAccess    = "pii_access"
)

// monthlyTables are the month-partitioned tables and their partition keys.
var monthlyTables = []struct{ table, key string }{
	{TableAudit, "received_month"},
	{TableAuditRecords, "received_month"},
	{TableDeadLetters, "received_month"},
	{TablePIIAccess, "accessed_month"},
}

// DefaultMonthsAhead is how many months after the current one
// EnsurePartitions creates by default: a worker that stops for weeks still
// finds its partitions.
const DefaultMonthsAhead = 3

// Retention says how many months of rows each partitioned table keeps; 0
// keeps everything. A month's partition is dropped whole once the month
// ended more than that many months ago, so a row is kept at least that
// long and at most a month longer.
type Retention struct {
	Audit       int
	DeadLetters int
	PIIAccess   int
}

func (r Retention) months(table string) int {
	switch table {
	case TableAudit, TableAuditRecords:
		return r.Audit
	case TableDeadLetters:
		return r.DeadLetters
	case TablePIIAccess:
		return r.PIIAccess
	}
	return 0
}

// MonthPartition is one month's partition of a table.
type MonthPartition struct {
	Table string
	Name  string
	Month time.Time // first day of the month, UTC
	Bytes int64     // on disk, indexes included
}

// pgExecQuerier is what partition upkeep needs: *pgxpool.Pool, *pgx.Conn
// and pgx.Tx all have it.
type pgExecQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// monthOf is the first day of t's UTC month.
func monthOf(t time.Time) time.Time {
	y, m, _ := t.UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
}

// EnsureMonthPartitions creates, for every partitioned table, the
// partitions of the months from now's to ahead months later that do not
// exist yet, and a partition for every month that has rows in the table's
// default partition (moving them in). It returns the names it created.
// Idempotent and safe to run from several processes at once.
func EnsureMonthPartitions(ctx context.Context, db pgExecQuerier, now time.Time, ahead int) ([]string, error) {
	if ahead < 0 {
		return nil, fmt.Errorf("postgres: months ahead %d: must be 0 or more", ahead)
	}
	var created []string
	for _, t := range monthlyTables {
		months := map[time.Time]bool{}
		first := monthOf(now)
		for i := 0; i <= ahead; i++ {
			months[first.AddDate(0, i, 0)] = true
		}
		stray, err := queryMonths(ctx, db, fmt.Sprintf(
			`SELECT DISTINCT %s FROM %s`, pgx.Identifier{t.key}.Sanitize(), pgx.Identifier{t.table + "_default"}.Sanitize()))
		if err != nil {
			return created, fmt.Errorf("postgres: rows in %s_default: %w", t.table, classify(err))
		}
		for _, m := range stray {
			months[m] = true
		}
		for _, m := range slices.SortedFunc(maps.Keys(months), time.Time.Compare) {
			var made bool
			rows, err := db.Query(ctx, `SELECT resingest_month_partition($1, $2, $3::date)`, t.table, t.key, m)
			if err == nil {
				_, err = pgx.ForEachRow(rows, []any{&made}, func() error { return nil })
			}
			if err != nil {
				return created, fmt.Errorf("postgres: create %s partition for %s: %w", t.table, m.Format("2006-01"), classify(err))
			}
			if made {
				created = append(created, t.table+"_"+m.Format("200601"))
			}
		}
	}
	return created, nil
}

// DropExpiredPartitions drops the month partitions that r no longer keeps
// (see Retention) and returns their names. The default partitions are never
// dropped. Idempotent.
func DropExpiredPartitions(ctx context.Context, db pgExecQuerier, now time.Time, r Retention) ([]string, error) {
	parts, err := MonthPartitions(ctx, db)
	if err != nil {
		return nil, err
	}
	var dropped []string
	for _, p := range ExpiredPartitions(parts, now, r) {
		if _, err := db.Exec(ctx, `DROP TABLE IF EXISTS `+pgx.Identifier{p.Name}.Sanitize()); err != nil {
			return dropped, fmt.Errorf("postgres: drop partition %s: %w", p.Name, classify(err))
		}
		dropped = append(dropped, p.Name)
	}
	return dropped, nil
}

// ExpiredPartitions returns the partitions of parts that r no longer keeps
// at now: those whose month ended more than r's months for their table
// before now.
func ExpiredPartitions(parts []MonthPartition, now time.Time, r Retention) []MonthPartition {
	var out []MonthPartition
	for _, p := range parts {
		keep := r.months(p.Table)
		if keep > 0 && !p.Month.AddDate(0, 1, 0).After(now.AddDate(0, -keep, 0)) {
			out = append(out, p)
		}
	}
	return out
}

// MonthPartitions lists every partitioned table's month partitions, each
// table's oldest first.
func MonthPartitions(ctx context.Context, db pgExecQuerier) ([]MonthPartition, error) {
	var out []MonthPartition
	for _, t := range monthlyTables {
		rows, err := db.Query(ctx, `SELECT name, month, pg_total_relation_size(to_regclass(name))
			FROM resingest_month_partitions($1)`, t.table)
		if err != nil {
			return nil, fmt.Errorf("postgres: list %s partitions: %w", t.table, classify(err))
		}
		var p MonthPartition
		p.Table = t.table
		_, err = pgx.ForEachRow(rows, []any{&p.Name, &p.Month, &p.Bytes}, func() error {
			p.Month = p.Month.UTC()
			out = append(out, p)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("postgres: list %s partitions: %w", t.table, classify(err))
		}
	}
	return out, nil
}

func queryMonths(ctx context.Context, db pgExecQuerier, sql string) ([]time.Time, error) {
	rows, err := db.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	var out []time.Time
	var m time.Time
	_, err = pgx.ForEachRow(rows, []any{&m}, func() error {
		out = append(out, m.UTC())
		return nil
	})
	return out, err
}

// EnsurePartitions is EnsureMonthPartitions on the sink's pool, within the
// store's attempt deadline.
func (s *Sink) EnsurePartitions(ctx context.Context, now time.Time, ahead int) ([]string, error) {
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	return EnsureMonthPartitions(ctx, s.pool, now, ahead)
}

// DropExpiredPartitions is the package's DropExpiredPartitions on the
// sink's pool, within the store's attempt deadline.
func (s *Sink) DropExpiredPartitions(ctx context.Context, now time.Time, r Retention) ([]string, error) {
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	return DropExpiredPartitions(ctx, s.pool, now, r)
}

// KeepPartitions runs partition upkeep until ctx ends: at once and then
// every interval, EnsurePartitions(ahead) and DropExpiredPartitions(r),
// logging what it created and dropped. A failure is logged at WARN and
// tried again at the next round: rows never wait for it (a month without
// its partition goes to the default one). Run it on its own goroutine.
func (s *Sink) KeepPartitions(ctx context.Context, every time.Duration, ahead int, r Retention, log *slog.Logger) {
	for {
		now := time.Now()
		created, err := s.EnsurePartitions(ctx, now, ahead)
		if len(created) > 0 {
			log.Info("postgres: partitions created", "partitions", strings.Join(created, ","))
		}
		if err == nil {
			var dropped []string
			dropped, err = s.DropExpiredPartitions(ctx, now, r)
			if len(dropped) > 0 {
				log.Info("postgres: expired partitions dropped", "partitions", strings.Join(dropped, ","))
			}
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("postgres: partition upkeep failed; trying again later", "err", err, "next", every)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}
