package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/sinks"
)

// TestChildrenOfAConcurrentWriterAreReplaced: another writer commits a
// version with more children while this sink's write waits for the parent's
// lock. The newer write must replace all of those children; a statement
// whose snapshot predates the other commit would miss the extra rows and
// leave them behind.
func TestChildrenOfAConcurrentWriterAreReplaced(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, url := newTestSink(t)
	base := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	v1 := fullRecord(t, "H1", "C1", base, "1")
	v1.Reservation.RoomStays = v1.Reservation.RoomStays[:1]
	if _, err := s.Write(ctx, []sinks.Record{v1}); err != nil {
		t.Fatal(err)
	}

	// The other writer: a newer version with three room stays, held open.
	other, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(context.Background())
	v2 := fullRecord(t, "H1", "C1", base.Add(time.Hour), "2")
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE reservations SET version = $1 WHERE hotel_code = 'H1' AND confirmation = 'C1'`, v2.Version.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO reservation_room_stays (hotel_code, confirmation, ordinal, room_type)
		VALUES ('H1', 'C1', 1, 'X'), ('H1', 'C1', 2, 'Y')`); err != nil {
		t.Fatal(err)
	}

	// The newest version, with one room stay, waits for the lock.
	v3 := fullRecord(t, "H1", "C1", base.Add(2*time.Hour), "3")
	v3.Reservation.RoomStays = v3.Reservation.RoomStays[:1]
	done := make(chan error, 1)
	go func() {
		_, err := s.Write(ctx, []sinks.Record{v3})
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("the write did not wait for the other writer's lock (err %v)", err)
	default:
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, version, err := s.Get(ctx, v3.Reservation.Key())
	if err != nil {
		t.Fatal(err)
	}
	if version != v3.Version.String() || len(got.RoomStays) != 1 {
		t.Errorf("after the newest write: version %s, %d room stays; want %s and 1", version, len(got.RoomStays), v3.Version)
	}
}
