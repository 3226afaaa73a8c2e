package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// newTestSink returns a sink on a fresh, migrated database of its own.
func newTestSink(t testing.TB) (*Sink, string) {
	t.Helper()
	url := testenv.PostgresSchema(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := New(ctx, url, Options{MaxConns: 4})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s, url
}

// testContext is bounded so that a hung test fails instead of blocking.
func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// fullRecord is a reservation with every field set, several children of
// each kind, and version (modified, no message time, pos).
func fullRecord(t testing.TB, hotel, conf string, modified time.Time, pos string) sinks.Record {
	t.Helper()
	r := reservation.Reservation{
		MessageType:  "OTA_HotelResModifyNotifRQ",
		MessageID:    "msg-" + conf + "-" + pos,
		MessageTime:  modified.Add(time.Minute).UTC().Format(time.RFC3339Nano),
		Action:       reservation.ActionModify,
		Status:       "Modify",
		Confirmation: conf,
		HotelCode:    hotel,
		ChainCode:    "RC",
		CreatedAt:    "2024-01-02T03:04:05Z",
		ModifiedAt:   modified.UTC().Format(time.RFC3339Nano),
		Arrival:      "2024-03-10",
		Departure:    "2024-03-15",
		RoomStays: []reservation.RoomStay{
			{RoomType: "KING", RatePlan: "BAR", Units: 1, Arrival: "2024-03-10", Departure: "2024-03-12",
				Adults: 2, Children: 1, TotalAfterTax: "450.50", TotalBeforeTax: "400.00", Currency: "USD"},
			{RoomType: "QQ", RatePlan: "AAA", Units: 2, Arrival: "2024-03-12", Departure: "2024-03-15",
				Adults: 1, Children: 0, TotalAfterTax: "0.10", TotalBeforeTax: "-3", Currency: "USD"},
			{RoomType: "SUITE", Units: 1}, // empty dates and amounts: NULL in the store, "" back
		},
		Adults:   3,
		Children: 1,
		Guests: []reservation.Guest{
			{Primary: false, GivenName: "Ann", Surname: "Zed", Email: "ann@example.com", Phone: "+1 555 0100",
				LoyaltyProgram: "RC", LoyaltyNumber: "123456789", City: "Austin", PostalCode: "78701", Country: "US"},
			{Primary: true, GivenName: "Bo", Surname: "Aaron", Email: "BO@example.COM", Country: "CA"},
		},
		TotalAfterTax:  "450.60",
		TotalBeforeTax: "397.00",
		Currency:       "USD",
		ExternalIDs: []reservation.ExternalID{
			{Type: "14", Value: conf, Source: "PMS"},
			{Type: "10", Value: "ITIN-" + conf, Source: "CRS"},
			{Type: "", Value: "x", Source: ""},
		},
		Payment: reservation.Payment{CardCode: "VI", Last4: "1111", Expire: "1227"},
		SpecialRequests: []reservation.SpecialRequest{
			{Code: "CRIB", Text: "Crib, \"quiet\" room \u2028 €"},
			{Name: "extra bed", Text: "Yes"},
			{},
		},
	}
	v, err := reservation.VersionOf(&r, pos)
	if err != nil {
		t.Fatalf("VersionOf: %v", err)
	}
	return sinks.Record{Reservation: r, Version: v, ArchiveKey: "2024/03/" + hotel + "/" + conf + ".xml.gz"}
}

// at is a fixed base time plus minutes, for readable version tables.
func at(minutes int) time.Time {
	return time.Date(2024, 2, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(minutes) * time.Minute)
}

// outcomes renders results for failure messages.
func outcomes(res []sinks.Result) string {
	s := ""
	for i, r := range res {
		if r.Err != nil {
			s += fmt.Sprintf("[%d %s: %v] ", i, r.Outcome, r.Err)
		} else {
			s += fmt.Sprintf("[%d %s] ", i, r.Outcome)
		}
	}
	return s
}
