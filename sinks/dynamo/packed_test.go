package dynamo

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/resingest/resingest/reservation"
)

// TestPackLists: the compact lists decode (json.Unmarshal) to exactly the
// record's lists, whatever the fields hold: every field set, none set,
// characters JSON must escape, non-ASCII text; and every field of the
// element types is written (a field added to the record is packed
// without touching this package: a zero value is left out, any other
// value written).
func TestPackLists(t *testing.T) {
	full := reservation.Reservation{
		RoomStays: []reservation.RoomStay{{RoomType: "K\"Q", RatePlan: `B\AR`, Units: 2, Arrival: "2026-01-02",
			Departure: "2026-01-05", Adults: 2, Children: -1, TotalAfterTax: "10.50", TotalBeforeTax: "9", Currency: "EUR"}},
		Guests: []reservation.Guest{{Primary: true, GivenName: "Zoë\n", Surname: "O'Brien\t\x01", Email: "a@b.c",
			Phone: "+1", LoyaltyProgram: "LP", LoyaltyNumber: "9", City: "München", PostalCode: "8", Country: "DE"},
			{Surname: "only"}},
		ExternalIDs:     []reservation.ExternalID{{Type: "14", Value: "V<>&", Source: "S"}, {}},
		SpecialRequests: []reservation.SpecialRequest{{Code: "CRIB", Text: "crib \"now\"\n"}, {}, {Name: "extra bed", Text: "Yes"}},
	}
	for name, r := range map[string]reservation.Reservation{"full": full, "empty": {}, "normalized empty": func() reservation.Reservation {
		var r reservation.Reservation
		r.Normalize()
		return r
	}()} {
		t.Run(name, func(t *testing.T) {
			b, err := packLists(&r)
			if err != nil {
				t.Fatal(err)
			}
			var got packedLists
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			want := packedLists{RoomStays: r.RoomStays, Guests: r.Guests, ExternalIDs: r.ExternalIDs, SpecialRequests: r.SpecialRequests}
			norm := func(p *packedLists) {
				rr := reservation.Reservation{RoomStays: p.RoomStays, Guests: p.Guests, ExternalIDs: p.ExternalIDs, SpecialRequests: p.SpecialRequests}
				rr.Normalize()
				p.RoomStays, p.Guests, p.ExternalIDs, p.SpecialRequests = rr.RoomStays, rr.Guests, rr.ExternalIDs, rr.SpecialRequests
			}
			norm(&got)
			norm(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got  %+v\n want %+v\n json %s", got, want, b)
			}
			std, _ := json.Marshal(want)
			if name == "full" && len(b) >= len(std) {
				t.Errorf("compact %d bytes, encoding/json %d", len(b), len(std))
			}
		})
	}
	for _, typ := range []reflect.Type{reflect.TypeOf(reservation.RoomStay{}), reflect.TypeOf(reservation.Guest{}), reflect.TypeOf(reservation.ExternalID{}), reflect.TypeOf(reservation.SpecialRequest{})} {
		if got, want := len(fieldsOf(typ)), typ.NumField(); got != want {
			t.Errorf("%s: %d fields packed, the type has %d", typ, got, want)
		}
	}
}
