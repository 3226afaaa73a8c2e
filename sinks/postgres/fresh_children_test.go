package postgres

import (
	"reflect"
	"testing"

	"github.com/resingest/resingest/sinks"
)

// A reservation's children are plainly inserted when its row is new. If an
// operator deleted the reservation by hand but not its children, the plain
// insert meets them: the batch must be written again as an update, leaving
// exactly the new record's children, and the other records of the batch
// (new and updated ones) stored as well.
func TestWriteFreshParentOverLeftoverChildren(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// trim shortens the new record's lists so that leftovers lie
		// beyond them (deleted) or under them (conflicting).
		trim func(*sinks.Record)
	}{
		{"leftovers under the new children (conflict)", func(*sinks.Record) {}},
		{"leftovers beyond the new children only", func(r *sinks.Record) {
			r.Reservation.RoomStays = r.Reservation.RoomStays[:0]
			r.Reservation.Guests = r.Reservation.Guests[:0]
			r.Reservation.ExternalIDs = r.Reservation.ExternalIDs[:0]
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestSink(t)
			ctx := testContext(t)
			old := fullRecord(t, "HC", "GONE", at(1), "1")
			updated := fullRecord(t, "HC", "KEPT", at(1), "2")
			if _, err := s.Write(ctx, []sinks.Record{old, updated}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Pool().Exec(ctx, `DELETE FROM reservations WHERE confirmation = 'GONE'`); err != nil {
				t.Fatal(err)
			}
			again := fullRecord(t, "HC", "GONE", at(2), "3")
			tc.trim(&again)
			newer := fullRecord(t, "HC", "KEPT", at(2), "4")
			brandNew := fullRecord(t, "HC", "NEW", at(2), "5")
			res, err := s.Write(ctx, []sinks.Record{again, newer, brandNew})
			if err != nil {
				t.Fatalf("write over leftover children: %v", err)
			}
			for _, r := range res {
				if r.Outcome != sinks.Stored {
					t.Fatalf("outcomes %s, want all stored", outcomes(res))
				}
			}
			for _, want := range []sinks.Record{again, newer, brandNew} {
				got, _, err := s.Get(ctx, want.Reservation.Key())
				if err != nil {
					t.Fatal(err)
				}
				want.Reservation.Normalize()
				if !reflect.DeepEqual(got, want.Reservation) {
					t.Errorf("%s: got\n%+v\nwant\n%+v", want.Reservation.Confirmation, got, want.Reservation)
				}
			}
		})
	}
}

// New reservations of a batch get their children by plain INSERT, never by
// the upsert: Postgres counts no conflict-arbiter probe per child row for
// them. The check reads the child tables' index scans in the transaction:
// the DELETEs may probe once per parent and table, the upsert probes once
// more per child row.
func TestWriteFreshParentsInsertChildrenPlainly(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t)
	ctx := testContext(t)
	var batch []sinks.Record
	for i := range 40 {
		batch = append(batch, fullRecord(t, "HC", "F"+string(rune('A'+i%26))+string(rune('A'+i/26)), at(i), "1"))
	}
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// Run the two statements as Write does, inside a transaction whose
	// own statistics (pg_stat_xact_user_tables) count the index scans.
	var cols columns
	for i := range batch {
		cols.add(i, &batch[i])
	}
	rows, err := tx.Query(ctx, s.parentsSQL, cols.parentArgs()...)
	if err != nil {
		t.Fatal(err)
	}
	fresh := make([]bool, len(batch))
	var idx int32
	var stored, inserted bool
	var previous *string
	n := 0
	for rows.Next() {
		if err := rows.Scan(&idx, &stored, &inserted, &previous); err != nil {
			t.Fatal(err)
		}
		if !stored || !inserted || previous != nil {
			t.Fatalf("record %d: stored %v inserted %v previous %v; want a new row", idx, stored, inserted, previous)
		}
		fresh[idx] = inserted
		n++
	}
	if rows.Err() != nil || n != len(batch) {
		t.Fatalf("parents: %d rows, %v", n, rows.Err())
	}
	var before, after int64
	q := `SELECT coalesce(sum(idx_scan), 0) FROM pg_stat_xact_user_tables
		WHERE relname IN ('reservation_room_stays', 'reservation_guests', 'reservation_external_ids')`
	if err := tx.QueryRow(ctx, q).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, writeChildrenSQL, cols.childArgs(fresh)...); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, q).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if max := int64(3 * len(batch)); after-before > max {
		t.Errorf("children of %d new reservations cost %d index scans of the child tables, want at most %d (the DELETEs' probes; plain inserts)", len(batch), after-before, max)
	}
	// The same statement with the parents treated as updated probes.
	if _, err := tx.Exec(ctx, writeChildrenSQL, cols.childArgs(make([]bool, len(batch)))...); err != nil {
		t.Fatal(err)
	}
	var upserted int64
	if err := tx.QueryRow(ctx, q).Scan(&upserted); err != nil {
		t.Fatal(err)
	}
	if children := int64(len(cols.rsParent) + len(cols.gParent) + len(cols.xParent)); upserted-after < children {
		t.Errorf("the upsert path counted %d index scans for %d child rows: the check cannot tell the paths apart", upserted-after, children)
	}
}
