package dynamo

import (
	"context"
	"testing"
	"time"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// TestRewriteEqual: a record of the stored version is a Duplicate that
// changes nothing, unless the sink refreshes (Options.RewriteEqual): then
// it replaces the item; an older version is Stale either way.
func TestRewriteEqual(t *testing.T) {
	t.Parallel()
	plain, _ := newTestSink(t, Options{})
	refresh := New(plain.api, Options{Table: plain.opts.Table, RewriteEqual: true})
	t.Cleanup(func() { _ = refresh.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	write := func(s *Sink, r sinks.Record) sinks.Outcome {
		t.Helper()
		res, err := s.Write(ctx, []sinks.Record{r})
		if err != nil || res[0].Err != nil {
			t.Fatalf("Write: %v %v", err, res[0].Err)
		}
		return res[0].Outcome
	}
	requests := func() []reservation.SpecialRequest {
		t.Helper()
		got, _, err := plain.Get(ctx, reservation.Key{HotelCode: "HR", Confirmation: "R1"})
		if err != nil {
			t.Fatal(err)
		}
		return got.SpecialRequests
	}
	v5 := rec(t, "HR", "R1", 5, "1")
	if o := write(plain, v5); o != sinks.Stored {
		t.Fatalf("first write: %v", o)
	}
	withRequests := v5
	withRequests.Reservation.SpecialRequests = []reservation.SpecialRequest{{Code: "CRIB"}}
	if o := write(plain, withRequests); o != sinks.Duplicate || len(requests()) != 0 {
		t.Fatalf("equal version without refresh: %v, requests %v", o, requests())
	}
	if o := write(refresh, withRequests); o != sinks.Stored || len(requests()) != 1 {
		t.Fatalf("equal version with refresh: %v, requests %v", o, requests())
	}
	older := rec(t, "HR", "R1", 4, "1")
	if o := write(refresh, older); o != sinks.Stale || len(requests()) != 1 {
		t.Fatalf("older version with refresh: %v, requests %v", o, requests())
	}
}
