package migrate

import (
	"testing"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

// TestLiveNewerSurvives writes versions of some extract keys through the
// live sinks first: the newer ones must survive the backfill in both
// stores, the older ones must be replaced.
func TestLiveNewerSurvives(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	db, url := testDB(t)
	ct := newClientTable(t)
	paths := genExtract(t, 2000, 2, true)
	want := expected(t, paths)

	pg, err := postgres.New(ctx, url, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	dy := dynamo.New(ct.client, dynamo.Options{Table: ct.table})
	t.Cleanup(func() { _ = dy.Close() })

	newer := map[reservation.Key]string{} // key -> live version
	older := map[reservation.Key]bool{}
	var recs []sinks.Record
	i := 0
	for _, row := range want {
		k := reservation.Key{HotelCode: row[1], Confirmation: row[0]}
		mod := "2030-01-01T00:00:00Z" // newer than any extract row
		if i%3 == 2 {
			mod = "2001-01-01T00:00:00Z" // older than any
			older[k] = true
		}
		r := reservation.Reservation{
			MessageType: "OTA_HotelResModifyNotifRQ", MessageID: "live-" + row[0],
			Action: reservation.ActionModify, Status: "Live", Confirmation: row[0], HotelCode: row[1],
			CreatedAt: "2000-01-01T00:00:00Z", ModifiedAt: mod,
			RoomStays:   []reservation.RoomStay{{RoomType: "LIVE", Units: 1}, {RoomType: "LIVE2", Units: 1}},
			Guests:      []reservation.Guest{{Primary: true, Surname: "Live"}},
			ExternalIDs: []reservation.ExternalID{{Type: "crs", Value: "L1"}, {Type: "crs", Value: "L2"}},
		}
		v, err := reservation.VersionOf(&r, "42")
		if err != nil {
			t.Fatal(err)
		}
		if !older[k] {
			newer[k] = v.String()
		}
		recs = append(recs, sinks.Record{Reservation: r, Version: v})
		if i++; i == 60 {
			break
		}
	}
	if res, err := pg.Write(ctx, recs); err != nil || res[0].Outcome != sinks.Stored {
		t.Fatalf("live postgres write: %v %v", res, err)
	}
	if res, err := dy.Write(ctx, recs); err != nil || res[0].Outcome != sinks.Stored {
		t.Fatalf("live dynamo write: %v %v", res, err)
	}

	st, err := New(db, Options{Workers: 2, ChunkRows: 300, Dynamo: ct.client, DynamoTable: ct.table}).Run(ctx, paths)
	if err != nil {
		t.Fatal(err)
	}
	// Applied counts a key once per chunk that changed it (revisions in
	// later chunks apply again), so it is at least the keys the live
	// versions did not hold.
	if st.Applied < int64(len(want)-len(newer)) || st.Rows != 2000 {
		t.Errorf("stats %+v: want 2000 rows, at least %d applied", st, len(want)-len(newer))
	}
	if n := countRows(t, db, `SELECT count(*) FROM reservations`); n != len(want) {
		t.Errorf("%d reservations, want %d", n, len(want))
	}
	for _, rec := range recs {
		k := rec.Reservation.Key()
		var version, status string
		var stays, ids int
		if err := db.Pool().QueryRow(ctx, `
			SELECT version, status,
				(SELECT count(*) FROM reservation_room_stays s WHERE s.hotel_code = r.hotel_code AND s.confirmation = r.confirmation),
				(SELECT count(*) FROM reservation_external_ids x WHERE x.hotel_code = r.hotel_code AND x.confirmation = r.confirmation)
			FROM reservations r WHERE hotel_code = $1 AND confirmation = $2`, k.HotelCode, k.Confirmation).
			Scan(&version, &status, &stays, &ids); err != nil {
			t.Fatal(err)
		}
		item, itemVersion, err := dy.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		row := want[k.String()]
		if live, ok := newer[k]; ok {
			if version != live || status != "Live" || stays != 2 || ids != 2 {
				t.Errorf("%s: newer live version lost in Postgres: %s %s %d stays %d ids", k, version, status, stays, ids)
			}
			if itemVersion != live || item.Status != "Live" {
				t.Errorf("%s: newer live version lost in DynamoDB: %s %s", k, itemVersion, item.Status)
			}
			continue
		}
		wantIDs := 0
		if row[20] != "" {
			wantIDs = 1
		}
		if status != row[3] || version == "" || stays != 1 || ids != wantIDs {
			t.Errorf("%s: older live version not replaced in Postgres: %s %d stays %d ids", k, status, stays, ids)
		}
		if item.Status != row[3] || itemVersion != version || len(item.RoomStays) != 1 {
			t.Errorf("%s: older live version not replaced in DynamoDB: %s %s", k, item.Status, itemVersion)
		}
	}
}
