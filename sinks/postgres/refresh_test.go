package postgres

import (
	"testing"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// TestRewriteEqual: a record of the stored version is a Duplicate that
// changes nothing, unless the sink refreshes (Options.RewriteEqual): then
// it replaces the row and its children; an older version is Stale either
// way.
func TestRewriteEqual(t *testing.T) {
	t.Parallel()
	if writeParentsRefreshSQL == writeParentsSQL {
		t.Fatal("the refresh statement has the stream's guard")
	}
	plain, url := newTestSink(t)
	ctx := testContext(t)
	refresh, err := New(ctx, url, Options{MaxConns: 2, RewriteEqual: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(refresh.Close)
	write := func(s *Sink, r sinks.Record) sinks.Outcome {
		t.Helper()
		res, err := s.Write(ctx, []sinks.Record{r})
		if err != nil || res[0].Err != nil {
			t.Fatalf("Write: %v %v", err, res[0].Err)
		}
		return res[0].Outcome
	}
	stored := func() reservation.Reservation {
		t.Helper()
		got, _, err := plain.Get(ctx, reservation.Key{HotelCode: "HR", Confirmation: "R1"})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	v := fullRecord(t, "HR", "R1", at(5), "1")
	v.Reservation.SpecialRequests = nil
	if o := write(plain, v); o != sinks.Stored {
		t.Fatalf("first write: %v", o)
	}
	changed := fullRecord(t, "HR", "R1", at(5), "1") // the same version, with requests and a city
	changed.Reservation.Guests[0].City = "Lisbon"
	if o := write(plain, changed); o != sinks.Duplicate || len(stored().SpecialRequests) != 0 {
		t.Fatalf("equal version without refresh: %v, %+v", o, stored().SpecialRequests)
	}
	if o := write(refresh, changed); o != sinks.Stored {
		t.Fatalf("equal version with refresh: %v", o)
	}
	if got := stored(); len(got.SpecialRequests) != len(changed.Reservation.SpecialRequests) || got.Guests[0].City != "Lisbon" {
		t.Fatalf("after the refresh: requests %+v, city %q", got.SpecialRequests, got.Guests[0].City)
	}
	if o := write(refresh, fullRecord(t, "HR", "R1", at(4), "1")); o != sinks.Stale {
		t.Fatalf("older version with refresh: %v", o)
	}
}
