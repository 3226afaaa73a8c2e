package api

import (
	"github.com/resingest/resingest/reservation"
)

// Itinerary is the document the API returns for one reservation. Absent
// values are "", 0, false or [] (never null), as in the canonical record.
type Itinerary struct {
	HotelCode    string `json:"hotel_code"`
	ChainCode    string `json:"chain_code"`
	Confirmation string `json:"confirmation"`
	// Status is the status as the source sent it; Cancelled says whether
	// the last message cancelled the reservation.
	Status    string `json:"status"`
	Cancelled bool   `json:"cancelled"`
	Arrival   string `json:"arrival"`
	Departure string `json:"departure"`
	// Rooms is the number of rooms over all stays.
	Rooms       int          `json:"rooms"`
	Adults      int          `json:"adults"`
	Children    int          `json:"children"`
	Stays       []Stay       `json:"stays"`
	Guests      []Guest      `json:"guests"`
	Totals      Totals       `json:"totals"`
	ExternalIDs []ExternalID `json:"external_ids"`
	CreatedAt   string       `json:"created_at"`
	// LastUpdate is the reservation's modification time, else its creation
	// time, else the time of the message it came in.
	LastUpdate string `json:"last_update"`
}

// Stay is one room stay.
type Stay struct {
	RoomType  string `json:"room_type"`
	RatePlan  string `json:"rate_plan"`
	Rooms     int    `json:"rooms"`
	Arrival   string `json:"arrival"`
	Departure string `json:"departure"`
	Adults    int    `json:"adults"`
	Children  int    `json:"children"`
	Totals    Totals `json:"totals"`
}

// Guest is a guest of the itinerary (personal data).
type Guest struct {
	Primary        bool   `json:"primary"`
	GivenName      string `json:"given_name"`
	Surname        string `json:"surname"`
	Email          string `json:"email"`
	Phone          string `json:"phone"`
	LoyaltyProgram string `json:"loyalty_program"`
	LoyaltyNumber  string `json:"loyalty_number"`
}

// Totals are decimal amounts as stored.
type Totals struct {
	AfterTax  string `json:"after_tax"`
	BeforeTax string `json:"before_tax"`
	Currency  string `json:"currency"`
}

// ExternalID is an id the reservation is known by in another system.
type ExternalID struct {
	Type   string `json:"type"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

// NewItinerary builds the document of r. Payment data is left out.
func NewItinerary(r *reservation.Reservation) Itinerary {
	it := Itinerary{
		HotelCode: r.HotelCode, ChainCode: r.ChainCode, Confirmation: r.Confirmation,
		Status: r.Status, Cancelled: r.Action == reservation.ActionCancel,
		Arrival: r.Arrival, Departure: r.Departure,
		Adults: r.Adults, Children: r.Children,
		Stays:       make([]Stay, 0, len(r.RoomStays)),
		Guests:      make([]Guest, 0, len(r.Guests)),
		ExternalIDs: make([]ExternalID, 0, len(r.ExternalIDs)),
		Totals:      Totals{AfterTax: r.TotalAfterTax, BeforeTax: r.TotalBeforeTax, Currency: r.Currency},
		CreatedAt:   r.CreatedAt,
		LastUpdate:  firstNonEmpty(r.ModifiedAt, r.CreatedAt, r.MessageTime),
	}
	for _, s := range r.RoomStays {
		it.Rooms += s.Units
		it.Stays = append(it.Stays, Stay{
			RoomType: s.RoomType, RatePlan: s.RatePlan, Rooms: s.Units,
			Arrival: s.Arrival, Departure: s.Departure, Adults: s.Adults, Children: s.Children,
			Totals: Totals{AfterTax: s.TotalAfterTax, BeforeTax: s.TotalBeforeTax, Currency: s.Currency},
		})
	}
	for _, g := range r.Guests {
		it.Guests = append(it.Guests, Guest{
			Primary: g.Primary, GivenName: g.GivenName, Surname: g.Surname, Email: g.Email,
			Phone: g.Phone, LoyaltyProgram: g.LoyaltyProgram, LoyaltyNumber: g.LoyaltyNumber,
		})
	}
	for _, x := range r.ExternalIDs {
		it.ExternalIDs = append(it.ExternalIDs, ExternalID(x))
	}
	return it
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
