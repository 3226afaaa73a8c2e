package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// TestBackfillSessionCommitsSynchronously checks that a backfill worker's
// session commits synchronously (its chunks and their progress must
// survive a server crash once the run reports them loaded) even on a pool
// opened without ParsePoolConfig, on a URL whose sessions default to
// synchronous_commit=off.
func TestBackfillSessionCommitsSynchronously(t *testing.T) {
	t.Parallel()
	base := testenv.PostgresSchema(t)
	ctx := testContext(t)
	if _, err := MigrateURL(ctx, base); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, testenv.AsyncCommitURL(t, base))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	sess, err := (&Sink{pool: pool}).OpenBackfillSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := sess.conn.QueryRow(ctx, "SHOW synchronous_commit").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != "on" {
		t.Errorf("a backfill worker's session runs with synchronous_commit = %s, want on", v)
	}
}

// backfillRow is a row of hotel H1 with version at minute v.
func backfillRow(conf string, v int, itinerary string) BackfillRow {
	created := at(0)
	modified := at(v)
	return BackfillRow{
		Line: int64(v), HotelCode: "H1", Confirmation: conf, ChainCode: "RC", Status: "Confirmed",
		Action: reservation.ActionCreate, CreatedAt: created, ModifiedAt: modified, HasModified: true,
		Arrival: time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC), HasArrival: true,
		RoomType: "KING", RatePlan: "BAR", Adults: 2, TotalAfterTax: "450.50", Currency: "USD",
		GivenName: "Ann", Surname: "Zed", Email: "ann@example.com", ItineraryID: itinerary,
		Version: reservation.Version{Updated: modified}.String(),
	}
}

// TestWriteChunk writes a chunk by direct COPY, then one that meets a
// stored key and falls back to the merge: only the newer row is written,
// BeforeCommit sees exactly the written keys, the progress is recorded,
// and the rows read back, special requests included (direct COPY, merge
// insert and merge update each write them).
func TestWriteChunk(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t)
	ctx := testContext(t)
	sess, err := s.OpenBackfillSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	var seen []reservation.Key
	hook := func(_ context.Context, keys []reservation.Key) error { seen = keys; return nil }
	crib := `[{"code":"CRIB","name":"","text":"Crib in room"}]`
	first := []BackfillRow{backfillRow("1", 1, "IT-1"), backfillRow("2", 1, "")}
	first[0].SpecialRequests = crib
	res, err := sess.WriteChunk(ctx, ChunkWrite{Rows: first, TryDirect: true, RejectsPath: "f",
		Rejects:  []BackfillReject{{Line: 9, Reason: "adults: missing"}},
		Progress: PresortChunkDone{Name: "c1", Records: 3}, BeforeCommit: hook})
	if err != nil || res.DirectMissed || len(res.Keys) != 2 || len(seen) != 2 {
		t.Fatalf("direct chunk: %+v, %v; hook saw %v", res, err, seen)
	}
	second := []BackfillRow{backfillRow("1", 2, ""), backfillRow("2", 1, ""), backfillRow("3", 1, "")}
	second[0].SpecialRequests = `[{"code":"1.14","name":"","text":"1 king"},{"code":"","name":"extra bed","text":"Yes \"please\""}]`
	second[1].SpecialRequests = crib // not newer: not written
	second[2].SpecialRequests = crib
	res, err = sess.WriteChunk(ctx, ChunkWrite{Rows: second, TryDirect: true,
		Progress: PresortChunkDone{Name: "c2", Records: 3}, BeforeCommit: hook})
	want := []reservation.Key{{HotelCode: "H1", Confirmation: "1"}, {HotelCode: "H1", Confirmation: "3"}}
	if err != nil || !res.DirectMissed || fmt.Sprint(res.Keys) != fmt.Sprint(want) || fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("merged chunk: %+v, %v; hook saw %v; want keys %v", res, err, seen, want)
	}
	r, version, err := s.Get(ctx, want[0])
	if err != nil || version != second[0].Version || r.ModifiedAt != "2024-02-01T12:02:00Z" ||
		len(r.ExternalIDs) != 0 || len(r.Guests) != 1 || r.RoomStays[0].TotalAfterTax != "450.50" {
		t.Errorf("stored after the merge: %+v %q %v", r, version, err)
	}
	for _, tc := range []struct{ conf, want string }{
		{"1", `[{"code": "1.14", "name": "", "text": "1 king"}, {"code": "", "name": "extra bed", "text": "Yes \"please\""}]`},
		{"2", `[]`},
		{"3", `[{"code": "CRIB", "name": "", "text": "Crib in room"}]`},
	} {
		var got string
		if err := s.Pool().QueryRow(ctx, `SELECT special_requests::text FROM reservations WHERE hotel_code = 'H1' AND confirmation = $1`,
			tc.conf).Scan(&got); err != nil || got != tc.want {
			t.Errorf("special requests of %s: %s, %v; want %s", tc.conf, got, err, tc.want)
		}
	}
	if len(r.SpecialRequests) != 2 || r.SpecialRequests[1] != (reservation.SpecialRequest{Name: "extra bed", Text: `Yes "please"`}) {
		t.Errorf("special requests read back as %+v", r.SpecialRequests)
	}
	done, err := s.BackfillDone(ctx, "c")
	if err != nil || !done["c1"] || !done["c2"] {
		t.Errorf("chunks done: %v, %v", done, err)
	}
	var rejects []string
	if err := s.BackfillRejects(ctx, []string{"f"}, func(p string, l int64, r string) error {
		rejects = append(rejects, fmt.Sprintf("%s:%d:%s", p, l, r))
		return nil
	}); err != nil || fmt.Sprint(rejects) != "[f:9:adults: missing]" {
		t.Errorf("rejects: %v, %v", rejects, err)
	}
}

// TestReservationChecksums: the per-hotel sums computed in SQL equal those
// of ReservationChecksum over the stored confirmations and versions.
func TestReservationChecksums(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t)
	ctx := testContext(t)
	var recs []sinks.Record
	for i := range 5 {
		recs = append(recs, fullRecord(t, fmt.Sprintf("H%d", i%2), fmt.Sprint(100+i), at(i), fmt.Sprint(i)))
	}
	if _, err := s.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	type sum struct {
		count int64
		sum   uint64
	}
	want := map[string]sum{}
	for _, r := range recs {
		w := want[r.Reservation.HotelCode]
		w.count++
		w.sum ^= ReservationChecksum(r.Reservation.Confirmation, r.Version.String())
		want[r.Reservation.HotelCode] = w
	}
	got := map[string]sum{}
	if err := s.ReservationChecksums(ctx, func(h string, c int64, x uint64) { got[h] = sum{c, x} }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sums %v, want %v", got, want)
	}
}

// TestTxConflict: lost deadlocks and serialization failures match
// ErrTxConflict and keep their message and cause; other errors do not.
func TestTxConflict(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"40P01", "40001", "23505", ""} {
		cause := &pgconn.PgError{Code: code, Message: "m"}
		err := markConflict(fmt.Errorf("merge: %w", cause))
		var pe *pgconn.PgError
		if errors.Is(err, ErrTxConflict) != (code == "40P01" || code == "40001") ||
			!errors.As(err, &pe) || pe != cause || err.Error() != "merge: "+cause.Error() {
			t.Errorf("code %q: %v (is conflict: %v)", code, err, errors.Is(err, ErrTxConflict))
		}
	}
	if markConflict(nil) != nil {
		t.Error("markConflict(nil) is not nil")
	}
}
