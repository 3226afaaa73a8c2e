package migrate

import (
	"bytes"
	"testing"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

func TestLoadExtract(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	db, _ := testDB(t)
	client, table := testTable(t)
	paths := genExtract(t, 5000, 3, false)
	want := expected(t, paths)

	m := New(db, Options{Workers: 2, ChunkRows: 700, Dynamo: client, DynamoTable: table})
	st, err := m.Run(ctx, paths)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st.Rows != 5000 || st.Rejects != 0 || st.FilesDone != 3 {
		t.Errorf("stats %+v, want 5000 rows, no rejects, 3 files", st)
	}
	if n := countRows(t, db, `SELECT count(*) FROM reservations`); n != len(want) {
		t.Errorf("%d reservations, want %d", n, len(want))
	}
	for _, q := range []string{`SELECT count(*) FROM reservation_room_stays`, `SELECT count(*) FROM reservation_guests`} {
		if n := countRows(t, db, q); n != len(want) {
			t.Errorf("%s = %d, want %d", q, n, len(want))
		}
	}
	withItinerary := 0
	for _, row := range want {
		if row[20] != "" {
			withItinerary++
		}
	}
	if n := countRows(t, db, `SELECT count(*) FROM reservation_external_ids WHERE id_type = 'itinerary'`); n != withItinerary {
		t.Errorf("%d itinerary ids, want %d", n, withItinerary)
	}
	items := dumpDynamo(t, client, table)
	if len(items) != len(want) {
		t.Errorf("%d items, want %d", len(items), len(want))
	}

	sink := dynamo.New(client, dynamo.Options{Table: table})
	n := 0
	for k, row := range want {
		if n++; n > 60 {
			break
		}
		var status, action, arrival, email, total, itinerary string
		err := db.Pool().QueryRow(ctx, `
			SELECT r.status, r.action, coalesce(r.arrival::text, ''), g.email,
				coalesce(s.total_after_tax::text, ''),
				coalesce((SELECT id_value FROM reservation_external_ids x
					WHERE x.hotel_code = r.hotel_code AND x.confirmation = r.confirmation AND id_type = 'itinerary'), '')
			FROM reservations r
			JOIN reservation_guests g USING (hotel_code, confirmation)
			JOIN reservation_room_stays s USING (hotel_code, confirmation)
			WHERE r.hotel_code = $1 AND r.confirmation = $2`, row[1], row[0]).
			Scan(&status, &action, &arrival, &email, &total, &itinerary)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		wantAction := reservation.ActionCreate
		if row[3] == "Cancelled" {
			wantAction = reservation.ActionCancel
		}
		if status != row[3] || action != wantAction || arrival != row[6] || email != row[17] || total != row[12] || itinerary != row[20] {
			t.Errorf("%s: stored (%s %s %s %s %s), want (%s %s %s %s %s)", k,
				status, action, arrival, total, itinerary, row[3], wantAction, row[6], row[12], row[20])
		}
		got, _, err := sink.Get(ctx, reservation.Key{HotelCode: row[1], Confirmation: row[0]})
		if err != nil {
			t.Fatalf("dynamo get %s: %v", k, err)
		}
		if got.Status != row[3] || got.Action != wantAction || got.Arrival != row[6] ||
			len(got.Guests) != 1 || got.Guests[0].Email != row[17] || got.TotalAfterTax != row[12] {
			t.Errorf("%s: dynamo item differs from the row", k)
		}
	}

	checkSpecialRequests(t, db, sink, want)

	// A second run skips the finished files; forgetting the progress makes
	// it merge everything again, which must change nothing.
	before, beforeItems := dumpPG(t, db), dumpDynamo(t, client, table)
	again, err := New(db, Options{Workers: 2, ChunkRows: 700, Dynamo: client, DynamoTable: table}).Run(ctx, paths)
	if err != nil || again.Rows != 0 || again.FilesDone != 3 {
		t.Errorf("re-run: %+v, %v; want nothing to do", again, err)
	}
	if _, err := db.Pool().Exec(ctx, `DELETE FROM backfill_files`); err != nil {
		t.Fatal(err)
	}
	forced, err := New(db, Options{Workers: 2, ChunkRows: 700, Dynamo: client, DynamoTable: table}).Run(ctx, paths)
	if err != nil || forced.Rows != 5000 || forced.Applied != 0 {
		t.Errorf("forced re-run: %+v, %v; want 5000 rows read, none applied", forced, err)
	}
	if after := dumpPG(t, db); after != before {
		t.Errorf("re-run changed Postgres: %s", diffLines(after, before))
	}
	afterItems := dumpDynamo(t, client, table)
	if !bytes.Equal([]byte(join(afterItems)), []byte(join(beforeItems))) {
		t.Error("re-run changed DynamoDB")
	}
}

func join(s []string) string {
	var b bytes.Buffer
	for _, x := range s {
		b.WriteString(x)
		b.WriteByte('\n')
	}
	return b.String()
}

// checkSpecialRequests: every reservation holds, in Postgres and in
// DynamoDB, exactly the special requests of its newest row in want (the
// extract's rows by key, as expected reads them).
func checkSpecialRequests(t *testing.T, db *postgres.Sink, sink *dynamo.Sink, want map[string][]string) {
	t.Helper()
	ctx := testContext(t)
	stored := map[string][]reservation.SpecialRequest{}
	rows, err := db.Pool().Query(ctx, `SELECT hotel_code || '/' || confirmation, special_requests::text FROM reservations`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k, s string
		if err := rows.Scan(&k, &s); err != nil {
			t.Fatal(err)
		}
		stored[k] = requestsOf(t, s)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	withRequests, checked := 0, 0
	for k, row := range want {
		reqs := requestsOf(t, row[colSpecialRequests])
		if len(reqs) > 0 {
			withRequests++
		}
		if got := stored[k]; !sameRequests(got, reqs) {
			t.Errorf("%s: Postgres holds special requests %+v, want %+v", k, got, reqs)
		}
		// DynamoDB: every reservation with requests, and some without.
		if len(reqs) == 0 && checked >= 100 {
			continue
		}
		checked++
		r, _, err := sink.Get(ctx, reservation.Key{HotelCode: row[1], Confirmation: row[0]})
		if err != nil {
			t.Fatalf("dynamo get %s: %v", k, err)
		}
		if !sameRequests(r.SpecialRequests, reqs) {
			t.Errorf("%s: DynamoDB holds special requests %+v, want %+v", k, r.SpecialRequests, reqs)
		}
	}
	if withRequests < len(want)/5 {
		t.Errorf("%d of %d reservations have special requests: the extract proves little", withRequests, len(want))
	}
}
