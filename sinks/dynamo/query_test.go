package dynamo

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

func TestQueryArrivals(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t, Options{})
	ctx := testContext(t)

	var recs []sinks.Record
	for i := range 5 { // H500 arrives 2024-06-01: C0..C4
		recs = append(recs, rec(t, "H500", fmt.Sprintf("C%d", i), 1, ""))
	}
	other := rec(t, "H500", "LATER", 1, "")
	other.Reservation.Arrival = "2024-06-02"
	elsewhere := rec(t, "H501", "ELSE", 1, "")
	noArrival := rec(t, "H500", "NOARR", 1, "")
	noArrival.Reservation.Arrival = ""
	for _, r := range write(t, s, append(recs, other, elsewhere, noArrival)...) {
		if r.Outcome != sinks.Stored {
			t.Fatalf("setup write: %v %v", r.Outcome, r.Err)
		}
	}

	tests := []struct {
		name  string
		hotel string
		date  string
		limit int32
		want  []string
	}{
		{"one page", "H500", "2024-06-01", 10, []string{"C0", "C1", "C2", "C3", "C4"}},
		{"pages of two", "H500", "2024-06-01", 2, []string{"C0", "C1", "C2", "C3", "C4"}},
		{"other day", "H500", "2024-06-02", 10, []string{"LATER"}},
		{"no arrivals", "H500", "2024-06-03", 10, nil},
		{"other hotel", "H501", "2024-06-01", 10, []string{"ELSE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			cursor, pages := "", 0
			for {
				page, err := s.QueryArrivals(ctx, tt.hotel, tt.date, tt.limit, cursor)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(page.Items) > int(tt.limit) {
					t.Fatalf("page has %d items, limit %d", len(page.Items), tt.limit)
				}
				for _, it := range page.Items {
					got = append(got, it.Reservation.Confirmation)
					if it.Reservation.HotelCode != tt.hotel || it.Version == "" {
						t.Errorf("item %s: hotel %q version %q", it.Reservation.Confirmation, it.Reservation.HotelCode, it.Version)
					}
				}
				if cursor = page.Cursor; cursor == "" || pages > 10 {
					break
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("confirmations = %v, want %v", got, tt.want)
			}
			if tt.limit == 2 && pages < 3 {
				t.Errorf("read %d pages with limit 2, want at least 3", pages)
			}
		})
	}

	t.Run("cursor of another hotel", func(t *testing.T) {
		page, err := s.QueryArrivals(ctx, "H500", "2024-06-01", 1, "")
		if err != nil || page.Cursor == "" {
			t.Fatalf("first page: cursor %q err %v", page.Cursor, err)
		}
		if _, err := s.QueryArrivals(ctx, "H501", "2024-06-01", 1, page.Cursor); !errors.Is(err, ErrBadCursor) {
			t.Errorf("err = %v, want ErrBadCursor", err)
		}
		if _, err := s.QueryArrivals(ctx, "H500", "2024-06-01", 1, "!!not base64"); !errors.Is(err, ErrBadCursor) {
			t.Errorf("garbage cursor: err = %v, want ErrBadCursor", err)
		}
	})
}

func TestQueryGuest(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t, Options{})
	ctx := testContext(t)

	withGuest := func(conf, email, arrival string, primary bool) sinks.Record {
		r := rec(t, "H600", conf, 1, "")
		r.Reservation.Arrival = arrival
		r.Reservation.Guests = []reservation.Guest{
			{GivenName: "Other", Email: "companion@example.com"},
			{Primary: primary, GivenName: "Grace", Email: email},
		}
		return r
	}
	recs := []sinks.Record{
		withGuest("G1", "Grace@Example.com", "2024-03-10", true),
		withGuest("G2", "grace@example.com ", "2024-07-01", true),
		withGuest("G3", "grace@example.com", "2024-05-15", true),
		withGuest("G4", "grace@example.com", "2024-05-15", false), // not primary: indexed under the companion
		rec(t, "H600", "NOGUEST", 1, ""),                          // no guest: absent from the index
	}
	for _, r := range write(t, s, recs...) {
		if r.Outcome != sinks.Stored {
			t.Fatalf("setup write: %v %v", r.Outcome, r.Err)
		}
	}

	grace := NormalizeEmail(" GRACE@example.com")
	tests := []struct {
		name     string
		guest    string
		from, to string
		want     []string
	}{
		{"all, by arrival", grace, "", "", []string{"G1", "G3", "G2"}},
		{"range inclusive", grace, "2024-03-10", "2024-05-15", []string{"G1", "G3"}},
		{"from only", grace, "2024-05-16", "", []string{"G2"}},
		{"to only", grace, "", "2024-05-14", []string{"G1"}},
		{"first guest when none is primary", "companion@example.com", "", "", []string{"G4"}},
		{"unknown guest", "nobody@example.com", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := s.QueryGuest(ctx, tt.guest, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range items {
				got = append(got, it.Reservation.Confirmation)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("confirmations = %v, want %v", got, tt.want)
			}
		})
	}
}
