package postgres

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

func TestWriteRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t)
	ctx := testContext(t)

	full := fullRecord(t, "H1", "C1", at(0), "42")
	minimal := sinks.Record{Reservation: reservation.Reservation{
		HotelCode: "H1", Confirmation: "C2", Action: reservation.ActionCreate,
	}}
	minimal.Reservation.Normalize()

	res, err := s.Write(ctx, []sinks.Record{full, minimal})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	for i, r := range res {
		if r.Outcome != sinks.Stored || r.Err != nil {
			t.Fatalf("record %d: %s", i, outcomes(res))
		}
	}
	for _, tc := range []struct {
		name string
		rec  sinks.Record
	}{{"full", full}, {"minimal", minimal}} {
		t.Run(tc.name, func(t *testing.T) {
			got, version, err := s.Get(ctx, tc.rec.Reservation.Key())
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if !reflect.DeepEqual(got, tc.rec.Reservation) {
				t.Errorf("Get returned\n%+v\nwant\n%+v", got, tc.rec.Reservation)
			}
			if version != tc.rec.Version.String() {
				t.Errorf("version = %q, want %q", version, tc.rec.Version.String())
			}
		})
	}

	t.Run("empty strings are NULL for typed columns", func(t *testing.T) {
		var nulls, textEmpty bool
		err := s.Pool().QueryRow(ctx, `SELECT
			message_time IS NULL AND created_at IS NULL AND modified_at IS NULL AND arrival IS NULL
				AND departure IS NULL AND total_after_tax IS NULL AND total_before_tax IS NULL,
			chain_code = '' AND status = '' AND currency = '' AND card_last4 = ''
			FROM reservations WHERE hotel_code = 'H1' AND confirmation = 'C2'`).Scan(&nulls, &textEmpty)
		if err != nil {
			t.Fatal(err)
		}
		if !nulls || !textEmpty {
			t.Errorf("typed columns NULL = %v, text columns empty = %v; want both true", nulls, textEmpty)
		}
		var n int
		err = s.Pool().QueryRow(ctx, `SELECT count(*) FROM reservation_room_stays
			WHERE confirmation = 'C1' AND arrival IS NULL AND total_after_tax IS NULL`).Scan(&n)
		if err != nil || n != 1 {
			t.Errorf("room stays with NULL dates and amounts = %d (%v), want 1", n, err)
		}
	})

	t.Run("not found", func(t *testing.T) {
		_, _, err := s.Get(ctx, reservation.Key{HotelCode: "H1", Confirmation: "nope"})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(missing) error = %v, want ErrNotFound", err)
		}
	})
}

func TestWriteVersionGuard(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t)
	ctx := testContext(t)

	// w is one write of the case's key: version = (at(min), position pos).
	type w struct {
		min int
		pos string
	}
	const (
		stored = sinks.Stored
		stale  = sinks.Stale
		dup    = sinks.Duplicate
	)
	tests := []struct {
		name    string
		batches [][]w
		want    [][]sinks.Outcome
		final   w
	}{
		{"newer applies", [][]w{{{1, "1"}}, {{2, "1"}}}, [][]sinks.Outcome{{stored}, {stored}}, w{2, "1"}},
		{"older is stale", [][]w{{{2, "1"}}, {{1, "9"}}}, [][]sinks.Outcome{{stored}, {stale}}, w{2, "1"}},
		{"equal is duplicate", [][]w{{{1, "7"}}, {{1, "7"}}}, [][]sinks.Outcome{{stored}, {dup}}, w{1, "7"}},
		{"position breaks a tie", [][]w{{{1, "9"}}, {{1, "10"}}}, [][]sinks.Outcome{{stored}, {stored}}, w{1, "10"}},
		{"out of order arrival leaves newest", [][]w{{{3, "3"}}, {{1, "1"}}, {{2, "2"}}},
			[][]sinks.Outcome{{stored}, {stale}, {stale}}, w{3, "3"}},
		{"same key twice in a batch: newest wins", [][]w{{{1, "1"}, {3, "3"}, {2, "2"}}},
			[][]sinks.Outcome{{stale, stored, stale}}, w{3, "3"}},
		{"same version twice in a batch", [][]w{{{2, "5"}, {2, "5"}}},
			[][]sinks.Outcome{{stored, dup}}, w{2, "5"}},
		{"batch older than the stored one", [][]w{{{5, "1"}}, {{1, "1"}, {5, "1"}}},
			[][]sinks.Outcome{{stored}, {stale, dup}}, w{5, "1"}},
	}
	for n, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := fmt.Sprintf("VG%d", n)
			for b, batch := range tt.batches {
				var recs []sinks.Record
				for _, x := range batch {
					recs = append(recs, fullRecord(t, "HV", conf, at(x.min), x.pos))
				}
				res, err := s.Write(ctx, recs)
				if err != nil {
					t.Fatalf("batch %d: Write: %v", b, err)
				}
				var got []sinks.Outcome
				for _, r := range res {
					got = append(got, r.Outcome)
				}
				if !reflect.DeepEqual(got, tt.want[b]) {
					t.Fatalf("batch %d: outcomes %s, want %v", b, outcomes(res), tt.want[b])
				}
			}
			want := fullRecord(t, "HV", conf, at(tt.final.min), tt.final.pos)
			got, version, err := s.Get(ctx, want.Reservation.Key())
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if version != want.Version.String() || !reflect.DeepEqual(got, want.Reservation) {
				t.Errorf("stored version %q (message %s), want %q (message %s)",
					version, got.MessageID, want.Version.String(), want.Reservation.MessageID)
			}
		})
	}
}

func TestWriteReplacesChildrenOnlyOnUpdate(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t)
	ctx := testContext(t)

	v2 := fullRecord(t, "HC", "C1", at(2), "2")
	v1 := fullRecord(t, "HC", "C1", at(1), "1")
	v1.Reservation.RoomStays = v1.Reservation.RoomStays[:1]
	v1.Reservation.Guests = nil
	v3 := fullRecord(t, "HC", "C1", at(3), "3")
	v3.Reservation.RoomStays = v3.Reservation.RoomStays[1:2]
	v3.Reservation.Guests = v3.Reservation.Guests[1:]
	v3.Reservation.ExternalIDs = []reservation.ExternalID{}

	steps := []struct {
		rec                 sinks.Record
		want                sinks.Outcome
		rooms, guests, xids int
	}{
		{v2, sinks.Stored, 3, 2, 3},
		{v1, sinks.Stale, 3, 2, 3}, // a stale record must not touch the children
		{v3, sinks.Stored, 1, 1, 0},
	}
	for i, st := range steps {
		res, err := s.Write(ctx, []sinks.Record{st.rec})
		if err != nil || res[0].Outcome != st.want {
			t.Fatalf("step %d: %s (%v), want %s", i, outcomes(res), err, st.want)
		}
		got, _, err := s.Get(ctx, st.rec.Reservation.Key())
		if err != nil {
			t.Fatal(err)
		}
		if len(got.RoomStays) != st.rooms || len(got.Guests) != st.guests || len(got.ExternalIDs) != st.xids {
			t.Errorf("step %d: %d room stays, %d guests, %d external ids; want %d, %d, %d", i,
				len(got.RoomStays), len(got.Guests), len(got.ExternalIDs), st.rooms, st.guests, st.xids)
		}
	}
	got, _, _ := s.Get(ctx, v3.Reservation.Key())
	v3.Reservation.Normalize()
	if !reflect.DeepEqual(got, v3.Reservation) {
		t.Errorf("after v3: got\n%+v\nwant\n%+v", got, v3.Reservation)
	}
}

func TestWriteIsIdempotent(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t)
	ctx := testContext(t)

	var batch []sinks.Record
	for i := range 50 {
		batch = append(batch, fullRecord(t, fmt.Sprintf("H%02d", i%7), fmt.Sprintf("C%03d", i), at(i), "1"))
	}
	counts := func() string {
		var a, b, c, d int
		err := s.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM reservations),
			(SELECT count(*) FROM reservation_room_stays), (SELECT count(*) FROM reservation_guests),
			(SELECT count(*) FROM reservation_external_ids)`).Scan(&a, &b, &c, &d)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(a, b, c, d)
	}
	for round, want := range []sinks.Outcome{sinks.Stored, sinks.Duplicate, sinks.Duplicate} {
		res, err := s.Write(ctx, batch)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, r := range res {
			if r.Outcome != want {
				t.Fatalf("round %d record %d: %s, want %s", round, i, r.Outcome, want)
			}
		}
		if got := counts(); got != "50 150 100 150" {
			t.Fatalf("round %d: row counts %s, want 50 150 100 150", round, got)
		}
	}
}

func TestWriteRejectsBadRecordsAlone(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t)
	ctx := testContext(t)

	mutate := func(conf string, f func(r *reservation.Reservation)) sinks.Record {
		rec := fullRecord(t, "HB", conf, at(1), "1")
		f(&rec.Reservation)
		return rec
	}
	tests := []struct {
		name      string
		bad       sinks.Record
		field     string // the FieldError's field; "" when Postgres rejects it
		wantState string // the PgError's SQLSTATE when Postgres rejects it
	}{
		{"missing confirmation", mutate("", func(r *reservation.Reservation) {}), "confirmation", ""},
		{"unknown action", mutate("B1", func(r *reservation.Reservation) { r.Action = "delete" }), "action", ""},
		{"bad date", mutate("B2", func(r *reservation.Reservation) { r.Arrival = "10/03/2024" }), "arrival", ""},
		{"bad time", mutate("B3", func(r *reservation.Reservation) { r.CreatedAt = "yesterday" }), "created_at", ""},
		{"bad amount", mutate("B4", func(r *reservation.Reservation) { r.TotalAfterTax = "NaN" }), "total_after_tax", ""},
		{"bad child date", mutate("B5", func(r *reservation.Reservation) { r.RoomStays[1].Departure = "2024-02-30" }),
			"room_stays[1].departure", ""},
		{"NUL in text", mutate("B6", func(r *reservation.Reservation) { r.Guests[0].City = "a\x00b" }), "guests[0].city", ""},
		{"invalid UTF-8", mutate("B7", func(r *reservation.Reservation) { r.ExternalIDs[2].Source = "\xff" }),
			"external_ids[2].source", ""},
		// jsonb refuses \u0000: caught before, naming the request.
		{"NUL in a special request", mutate("B9", func(r *reservation.Reservation) { r.SpecialRequests[1].Text = "a\x00b" }),
			"special_requests[1].text", ""},
		// Passes the checks but overflows numeric: found by writing the
		// records one by one.
		{"numeric overflow", mutate("B8", func(r *reservation.Reservation) { r.TotalBeforeTax = "1" + strings.Repeat("0", 140000) }),
			"", "22003"},
	}
	for n, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good1 := fullRecord(t, "HB", fmt.Sprintf("G%d-1", n), at(1), "1")
			good2 := fullRecord(t, "HB", fmt.Sprintf("G%d-2", n), at(1), "1")
			res, err := s.Write(ctx, []sinks.Record{good1, tt.bad, good2})
			if err != nil {
				t.Fatalf("Write: %v (the batch must not fail as a whole)", err)
			}
			if res[0].Outcome != sinks.Stored || res[2].Outcome != sinks.Stored {
				t.Errorf("good records: %s, want stored", outcomes(res))
			}
			if res[1].Outcome != sinks.Failed || sinks.IsRetryable(res[1].Err) {
				t.Fatalf("bad record: %s, want a permanent failure", outcomes(res))
			}
			var re *RecordError
			if !errors.As(res[1].Err, &re) || re.Index != 1 {
				t.Fatalf("bad record error %v: want a *RecordError with index 1", res[1].Err)
			}
			var fe *reservation.FieldError
			var pe *pgconn.PgError
			switch {
			case tt.field != "" && (!errors.As(re, &fe) || fe.Field != tt.field):
				t.Errorf("error %v: want a FieldError for %s", re, tt.field)
			case tt.wantState != "" && (!errors.As(re, &pe) || pe.Code != tt.wantState):
				t.Errorf("error %v: want SQLSTATE %s", re, tt.wantState)
			}
		})
	}
}

// Concurrent writers of the same keys must neither deadlock for good nor
// lose the newest version.
func TestWriteConcurrentWriters(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t)
	ctx := testContext(t)

	const writers, keys = 4, 60
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var batch []sinks.Record
			for k := range keys {
				// Writer w writes version w of every key, keys in a
				// different order per writer.
				kk := (k*7 + w*13) % keys
				batch = append(batch, fullRecord(t, "HX", fmt.Sprintf("K%02d", kk), at(w), "1"))
			}
			for attempt := 0; ; attempt++ {
				res, err := s.Write(ctx, batch)
				if err == nil {
					return
				}
				if !sinks.IsRetryable(err) || attempt == 10 {
					errs <- fmt.Errorf("writer %d: %v (%s)", w, err, outcomes(res))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for k := range keys {
		want := fullRecord(t, "HX", fmt.Sprintf("K%02d", k), at(writers-1), "1")
		_, version, err := s.Get(ctx, want.Reservation.Key())
		if err != nil || version != want.Version.String() {
			t.Fatalf("key %d: version %q (%v), want %q", k, version, err, want.Version.String())
		}
	}
}
