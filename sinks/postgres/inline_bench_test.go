package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// inlineWrite writes recs (unique keys) in the inline prototype's layout:
// two statements in one transaction, as Sink.Write does.
func inlineWrite(ctx context.Context, p *pgxpool.Pool, recs []sinks.Record) error {
	var c columns
	for i := range recs {
		c.add(i, &recs[i])
	}
	return pgx.BeginFunc(ctx, p, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, inlineWriteParentsSQL, c.inlineParentArgs()...)
		if err != nil {
			return err
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, inlineWriteChildrenSQL, c.inlineChildArgs()...)
		return err
	})
}

// benchLayout is one database of BenchmarkChildLayouts.
type benchLayout struct {
	name  string
	pool  *pgxpool.Pool
	pid   int
	write func(context.Context, []sinks.Record) error
	get   string // the SQL of Get
	bytes string // the SQL of its bytes on disk
}

// BenchmarkChildLayouts compares, in one run, on three databases, the
// reservation tables as they were before migration 0012 ("before": child
// tables with foreign keys and an id_value index), as they are ("now":
// neither), and the inline prototype ("inline": room stays and ids as
// arrays in the reservation row, views for readers). The same full records
// (3 room stays, 2 guests, 3 ids), 500 a batch, are written to each in
// turn as new keys, as newer versions with the same children and as newer
// versions with changed children; it reports each backend's CPU per 1,000
// records and the ratios to "before", bytes on disk per reservation, the
// read of one reservation (p50, p99 over 1,000 keys) and an analyst's
// aggregate over the room stays, checking that every layout answers alike.
func BenchmarkChildLayouts(b *testing.B) {
	ctx := testContext(b)
	pool := func(url string) *pgxpool.Pool {
		cfg, err := ParsePoolConfig(url)
		if err != nil {
			b.Fatal(err)
		}
		cfg.MaxConns = 1
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(p.Close)
		return p
	}
	sinkWrite := func(s *Sink) func(context.Context, []sinks.Record) error {
		return func(ctx context.Context, recs []sinks.Record) error { _, err := s.Write(ctx, recs); return err }
	}
	const tablesBytes = `SELECT pg_total_relation_size('reservations') + pg_total_relation_size('reservation_room_stays')
		+ pg_total_relation_size('reservation_guests') + pg_total_relation_size('reservation_external_ids')`
	// before: the migrations up to 0011.
	beforeURL := testenv.PostgresSchema(b)
	conn, err := ConnectURL(ctx, beforeURL)
	if err != nil {
		b.Fatal(err)
	}
	migrateBefore(b, ctx, conn, 12)
	conn.Close(ctx)
	before := &Sink{pool: pool(beforeURL)}
	now, _ := newTestSink(b)
	now = &Sink{pool: pool(now.pool.Config().ConnString())}
	_, inlineURL := newTestSink(b)
	inline := pool(inlineURL)
	if _, err := inline.Exec(ctx, inlineDDL); err != nil {
		b.Fatal(err)
	}
	layouts := []*benchLayout{
		{name: "before", pool: before.pool, write: sinkWrite(before), get: getSQL, bytes: tablesBytes},
		{name: "now", pool: now.pool, write: sinkWrite(now), get: getSQL, bytes: tablesBytes},
		{name: "inline", pool: inline, get: inlineGetSQL,
			write: func(ctx context.Context, recs []sinks.Record) error { return inlineWrite(ctx, inline, recs) },
			bytes: `SELECT pg_total_relation_size('reservations') + pg_total_relation_size('reservation_guests')`},
	}
	for _, l := range layouts {
		if err := l.pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&l.pid); err != nil {
			b.Fatal(err)
		}
	}
	const batches = 20
	used := map[string]time.Duration{}
	records := 0
	var keys []reservation.Key
	phases := []struct {
		name    string
		version int
		change  bool
	}{{"insert", 0, false}, {"update", 1, false}, {"modify", 2, true}}
	for n := range b.N {
		for _, phase := range phases {
			for i := 0; i < batches; i++ {
				recs := make([]sinks.Record, benchBatch)
				for j := range recs {
					recs[j] = fullRecord(b, fmt.Sprintf("H%03d", j%100), fmt.Sprintf("L-%d-%d-%d", n, i, j), at(phase.version), "1")
					if phase.change {
						r := &recs[j].Reservation
						r.RoomStays[1].RatePlan, r.RoomStays = "PROMO", r.RoomStays[:2]
						r.ExternalIDs = append(r.ExternalIDs, reservation.ExternalID{Type: "5", Value: "X-" + r.Confirmation})
					}
					if phase.name == "insert" {
						keys = append(keys, recs[j].Reservation.Key())
					}
				}
				for _, l := range layouts {
					start := backendCPU(b, l.pid)
					if err := l.write(ctx, recs); err != nil {
						b.Fatalf("%s: %v", l.name, err)
					}
					used[l.name+"-"+phase.name] += backendCPU(b, l.pid) - start
				}
			}
		}
		records += batches * benchBatch
	}
	for _, phase := range phases {
		base := used["before-"+phase.name].Seconds()
		for _, l := range layouts {
			d := used[l.name+"-"+phase.name].Seconds()
			b.ReportMetric(d/float64(records)*1000, l.name+"-"+phase.name+"-cpu-s/1000recs")
			if l.name != "before" {
				b.ReportMetric(d/base, l.name+"/before-"+phase.name)
			}
		}
	}
	readAll := func(p *pgxpool.Pool, sql string, args ...any) string {
		rows, err := p.Query(ctx, sql, args...)
		if err != nil {
			b.Fatal(err)
		}
		var out []string
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, fmt.Sprint(vals))
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		return strings.Join(out, ";")
	}
	for _, l := range layouts {
		if _, err := l.pool.Exec(ctx, `VACUUM ANALYZE`); err != nil {
			b.Fatal(err)
		}
		var size, count float64
		if err := l.pool.QueryRow(ctx, l.bytes).Scan(&size); err != nil {
			b.Fatal(err)
		}
		if err := l.pool.QueryRow(ctx, `SELECT count(*) FROM reservations`).Scan(&count); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(size/count, l.name+"-bytes/res")
	}
	// The read of one reservation, as Get runs it, on 1,000 keys.
	took := make([][]time.Duration, len(layouts))
	for i, k := range keys {
		if i == 1000 {
			break
		}
		answers := make([]string, len(layouts))
		for side, l := range layouts {
			start := time.Now()
			answers[side] = readAll(l.pool, l.get, k.HotelCode, k.Confirmation)
			took[side] = append(took[side], time.Since(start))
		}
		for side := range layouts {
			if answers[side] != answers[0] {
				b.Fatalf("%s reads differently in %s:\n %.400s\n %.400s", k, layouts[side].name, answers[0], answers[side])
			}
		}
	}
	for side, l := range layouts {
		slices.Sort(took[side])
		n := len(took[side])
		b.ReportMetric(float64(took[side][n/2].Microseconds()), l.name+"-get-p50-µs")
		b.ReportMetric(float64(took[side][n*99/100].Microseconds()), l.name+"-get-p99-µs")
	}
	// An analyst's aggregate: room nights and revenue by room type.
	const analyst = `SELECT room_type, sum(departure - arrival), sum(total_after_tax), count(*)
		FROM reservation_room_stays GROUP BY 1 ORDER BY 1`
	answers := make([]string, len(layouts))
	for side, l := range layouts {
		start := time.Now()
		const reps = 10
		for range reps {
			answers[side] = readAll(l.pool, analyst)
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/reps/1000, l.name+"-analyst-ms")
		if answers[side] != answers[0] || answers[side] == "" {
			b.Errorf("the analyst's query answers differently in %s:\n %.300s\n %.300s", l.name, answers[0], answers[side])
		}
	}
}
