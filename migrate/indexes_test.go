package migrate

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/resingest/resingest/sinks/postgres"
)

// reservationTables are the tables whose secondary indexes a load defers.
var reservationTables = []string{"reservations", "reservation_room_stays", "reservation_guests", "reservation_external_ids"}

// indexDefs lists the definitions of the reservation tables' indexes in
// the store's schema, sorted.
func indexDefs(t testing.TB, db *postgres.Sink) string {
	t.Helper()
	rows, err := db.Pool().Query(testContext(t), `SELECT indexdef FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename = ANY($1) ORDER BY indexname`, reservationTables)
	if err != nil {
		t.Fatal(err)
	}
	var defs []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		defs = append(defs, d)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return strings.Join(defs, "\n")
}

// TestDeferredIndexes: in each mode, which indexes exist while the load
// runs, and that the load ends with exactly the schema's indexes (also
// after a load stopped half-way and run again).
func TestDeferredIndexes(t *testing.T) {
	t.Parallel()
	paths := genExtract(t, 3000, 2, false)
	for _, tc := range []struct {
		name       string
		mode       IndexMode
		prefill    bool // a first file loaded before: the table is not empty
		wantDefer  bool // secondary indexes gone while the load runs
		interrupts bool
	}{
		{"auto on an empty table", IndexesAuto, false, true, false},
		{"auto, interrupted and resumed", IndexesAuto, false, true, true},
		{"auto on a loaded table", IndexesAuto, true, false, false},
		{"always", IndexesDefer, true, true, false},
		{"never", IndexesKeep, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, _ := testDB(t)
			want := indexDefs(t, db)
			if n := strings.Count(want, "\n") + 1; n != 8 {
				t.Fatalf("the schema has %d indexes on the reservation tables, want 8:\n%s", n, want)
			}
			load := paths
			if tc.prefill {
				if _, err := New(db, Options{DeferIndexes: IndexesKeep}).Run(testContext(t), paths[:1]); err != nil {
					t.Fatal(err)
				}
				load = paths[1:]
			}
			var during []string // index definitions seen after each chunk
			ctx, cancel := context.WithCancel(testContext(t))
			defer cancel()
			opts := Options{Workers: 1, ChunkRows: 500, Presort: true, SpillDir: t.TempDir(), DeferIndexes: tc.mode}
			opts.afterChunk = func(string, int64) {
				during = append(during, indexDefs(t, db))
				if tc.interrupts && len(during) == 2 {
					cancel()
				}
			}
			_, err := New(db, opts).Run(ctx, load)
			if tc.interrupts {
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("interrupted run: %v", err)
				}
				if got := countRows(t, db, `SELECT count(*) FROM backfill_deferred_indexes`); got != 4 {
					t.Errorf("%d indexes owed after the interrupted run, want 4", got)
				}
				opts.afterChunk = func(string, int64) { during = append(during, indexDefs(t, db)) }
				opts.DeferIndexes = IndexesKeep // what an interrupted load owes is built anyway
				_, err = New(db, opts).Run(testContext(t), load)
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(during) == 0 {
				t.Fatal("no chunk ran")
			}
			for _, d := range during {
				if deferred := d != want; deferred != tc.wantDefer {
					t.Fatalf("indexes during the load:\n%s\nwant deferred: %v", d, tc.wantDefer)
				}
				if !strings.Contains(d, "_pkey") {
					t.Fatalf("a primary key was dropped:\n%s", d)
				}
			}
			if got := indexDefs(t, db); got != want {
				t.Errorf("indexes after the load:\n%s\nwant:\n%s", got, want)
			}
			if got := countRows(t, db, `SELECT count(*) FROM backfill_deferred_indexes`); got != 0 {
				t.Errorf("%d indexes still owed", got)
			}
			if got := countRows(t, db, `SELECT count(*) FROM reservations`); got == 0 {
				t.Error("nothing loaded")
			}
		})
	}
}

func TestParseIndexMode(t *testing.T) {
	for in, want := range map[string]IndexMode{"": IndexesAuto, "auto": IndexesAuto, "always": IndexesDefer, "never": IndexesKeep} {
		if got, err := ParseIndexMode(in); err != nil || got != want {
			t.Errorf("ParseIndexMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseIndexMode("sometimes"); err == nil || !strings.Contains(err.Error(), `"sometimes"`) {
		t.Errorf("ParseIndexMode(sometimes): %v; want an error naming the value", err)
	}
}

// TestDeferredIndexesPartlyBuilt: a run that finds some indexes still owed
// (its predecessor was stopped while building them) builds those and
// leaves the ones already built alone, whatever the mode.
func TestDeferredIndexesPartlyBuilt(t *testing.T) {
	t.Parallel()
	paths := genExtract(t, 1000, 1, false)
	db, _ := testDB(t)
	ctx := testContext(t)
	want := indexDefs(t, db)
	if _, err := New(db, Options{}).Run(ctx, paths); err != nil {
		t.Fatal(err)
	}
	// As a build stopped half-way leaves it: one index dropped and owed.
	if _, err := db.Pool().Exec(ctx, `INSERT INTO backfill_deferred_indexes (name, table_name, definition)
		SELECT indexname, tablename, indexdef FROM pg_indexes
		WHERE schemaname = current_schema() AND indexname = 'reservations_confirmation_idx';
		DROP INDEX reservations_confirmation_idx`); err != nil {
		t.Fatal(err)
	}
	oid := func(name string) uint32 {
		var o uint32
		if err := db.Pool().QueryRow(ctx, `SELECT to_regclass($1)::oid`, name).Scan(&o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	before := oid("reservations_hotel_arrival_idx")
	if _, err := New(db, Options{DeferIndexes: IndexesDefer}).Run(ctx, paths); err != nil {
		t.Fatal(err)
	}
	if got := indexDefs(t, db); got != want {
		t.Errorf("indexes after the run:\n%s\nwant:\n%s", got, want)
	}
	if oid("reservations_hotel_arrival_idx") != before {
		t.Error("an index that was not owed was dropped and built again")
	}
	if got := countRows(t, db, `SELECT count(*) FROM backfill_deferred_indexes`); got != 0 {
		t.Errorf("%d indexes still owed", got)
	}
}
