package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// tableWrites is what a run did to the heap of each table of its database,
// from pg_stat_user_tables (partitions count under their own names).
type tableWrites struct {
	table                           string
	inserted, updated, hot, deleted int64
}

// readTableWrites reads the counters of every table of the database at url
// that the run wrote. The worker has exited, so its statistics are flushed.
func readTableWrites(ctx context.Context, url string) ([]tableWrites, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `
		SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del
		FROM pg_stat_user_tables
		WHERE n_tup_ins + n_tup_upd + n_tup_del > 0
		ORDER BY n_tup_ins + n_tup_upd + n_tup_del DESC, relname`)
	if err != nil {
		return nil, fmt.Errorf("read pg_stat_user_tables: %w", err)
	}
	var out []tableWrites
	for rows.Next() {
		var w tableWrites
		if err := rows.Scan(&w.table, &w.inserted, &w.updated, &w.hot, &w.deleted); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// reportTableWrites adds pg-rows/msg, the heap rows the run inserted,
// updated or deleted per message (an updated row is a new heap tuple too;
// a HOT update spares its indexes), and logs them per table.
func reportTableWrites(b *testing.B, name, url string, messages int) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, err := readTableWrites(ctx, url)
	if err != nil {
		b.Fatalf("%s: table writes: %v", name, err)
	}
	var total int64
	var parts []string
	for _, w := range ws {
		total += w.inserted + w.updated + w.deleted
		parts = append(parts, fmt.Sprintf("%s ins %.2f upd %.2f (hot %.2f) del %.2f", w.table,
			per(w.inserted, messages), per(w.updated, messages), per(w.hot, messages), per(w.deleted, messages)))
	}
	b.ReportMetric(per(total, messages), "pg-rows/msg")
	b.Logf("%s: Postgres heap rows per message: %.2f (%s)", name, per(total, messages), strings.Join(parts, "; "))
}

func per(n int64, messages int) float64 { return float64(n) / float64(messages) }
