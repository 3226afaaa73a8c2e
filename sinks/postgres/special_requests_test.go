package postgres

import (
	"testing"

	"github.com/resingest/resingest/sinks"
)

// TestSpecialRequestsView: the requests kept in reservations'
// special_requests column read back one row per request, in order, from
// the analysts' view reservation_special_requests; a newer version
// replaces them and an older one does not.
func TestSpecialRequestsView(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t)
	ctx := testContext(t)
	rec := fullRecord(t, "HS", "S1", at(1), "1")
	if res, err := s.Write(ctx, []sinks.Record{rec}); err != nil || res[0].Outcome != sinks.Stored {
		t.Fatalf("Write: %v %s", err, outcomes(res))
	}
	type row struct {
		ordinal          int
		code, name, text string
	}
	view := func() []row {
		t.Helper()
		rows, err := s.pool.Query(ctx, `SELECT ordinal, code, name, text FROM reservation_special_requests
			WHERE hotel_code = 'HS' AND confirmation = 'S1' ORDER BY ordinal`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.ordinal, &r.code, &r.name, &r.text); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := view()
	if len(got) != len(rec.Reservation.SpecialRequests) || len(got) < 2 {
		t.Fatalf("view rows %+v, want %d", got, len(rec.Reservation.SpecialRequests))
	}
	for i, q := range rec.Reservation.SpecialRequests {
		if got[i] != (row{i, q.Code, q.Name, q.Text}) {
			t.Errorf("row %d: %+v, want %+v", i, got[i], q)
		}
	}

	newer := fullRecord(t, "HS", "S1", at(2), "2")
	newer.Reservation.SpecialRequests = newer.Reservation.SpecialRequests[1:2]
	older := fullRecord(t, "HS", "S1", at(0), "0")
	older.Reservation.SpecialRequests = nil
	for _, r := range []sinks.Record{newer, older} {
		if _, err := s.Write(ctx, []sinks.Record{r}); err != nil {
			t.Fatal(err)
		}
	}
	want := newer.Reservation.SpecialRequests[0]
	if got := view(); len(got) != 1 || got[0] != (row{0, want.Code, want.Name, want.Text}) {
		t.Errorf("after a newer and an older version: %+v, want only %+v", got, want)
	}
}
