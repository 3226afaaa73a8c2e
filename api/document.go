package api

import (
	"strings"
	"unicode/utf8"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/dynamo"
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
	// SpecialRequests are the guest's requests to the hotel (a crib, an
	// extra bed), card-like numbers in their text masked by the parser;
	// the text is personal data (FieldSpecialRequests).
	SpecialRequests []SpecialRequest `json:"special_requests"`
	CreatedAt       string           `json:"created_at"`
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

// SpecialRequest is one request of the guest: the vendor's or OTA's
// code, a name, and free text.
type SpecialRequest struct {
	Code string `json:"code"`
	Name string `json:"name"`
	Text string `json:"text"`
}

// NewItinerary builds the document of r. Payment data is left out.
func NewItinerary(r *reservation.Reservation) Itinerary {
	it := Itinerary{
		HotelCode: r.HotelCode, ChainCode: r.ChainCode, Confirmation: r.Confirmation,
		Status: r.Status, Cancelled: r.Action == reservation.ActionCancel,
		Arrival: r.Arrival, Departure: r.Departure,
		Adults: r.Adults, Children: r.Children,
		Stays:           make([]Stay, 0, len(r.RoomStays)),
		Guests:          make([]Guest, 0, len(r.Guests)),
		ExternalIDs:     make([]ExternalID, 0, len(r.ExternalIDs)),
		SpecialRequests: make([]SpecialRequest, 0, len(r.SpecialRequests)),
		Totals:          Totals{AfterTax: r.TotalAfterTax, BeforeTax: r.TotalBeforeTax, Currency: r.Currency},
		CreatedAt:       r.CreatedAt,
		LastUpdate:      firstNonEmpty(r.ModifiedAt, r.CreatedAt, r.MessageTime),
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
	for _, q := range r.SpecialRequests {
		it.SpecialRequests = append(it.SpecialRequests, SpecialRequest(q))
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

// Personal fields whose access is scoped: a partner without ScopePII sees
// them masked (the loyalty number not at all), and every response that
// shows one unmasked is recorded in the access audit.
const (
	FieldEmail         = "email"
	FieldPhone         = "phone"
	FieldLoyaltyNumber = "loyalty_number"
	// FieldSpecialRequests is the text of the special requests: free
	// text that can tell a guest's health or private life ("wheelchair",
	// "anniversary"). Hidden ("") unless the caller may see personal
	// data; codes and names stay.
	FieldSpecialRequests = "special_requests"
)

// document is the one place where a stored reservation becomes the
// document a caller receives: it builds the itinerary, applies the
// caller's view of personal data and lists the scoped fields it shows
// unmasked (nil when none), for the access audit. A caller sees contact
// data unmasked only when unmasked is true (an access audit is
// configured): a partner with ScopePII, and a signed-in guest for their
// own guest entry. Everyone else (partners without the scope, other guests
// of a guest's reservation, anonymous lookups) sees it masked.
//
// Decrypting sealed guest fields, when the stores hold them, belongs here
// too, before the view is applied.
func document(c Caller, st *Stored, unmasked bool) (Itinerary, []string) {
	it := NewItinerary(&st.Reservation)
	var shown map[string]bool
	for i := range it.Guests {
		g := &it.Guests[i]
		if unmasked && c.seesUnmasked(g) {
			for f, v := range map[string]string{FieldEmail: g.Email, FieldPhone: g.Phone, FieldLoyaltyNumber: g.LoyaltyNumber} {
				if v != "" {
					if shown == nil {
						shown = map[string]bool{}
					}
					shown[f] = true
				}
			}
			continue
		}
		g.Email, g.Phone, g.LoyaltyNumber = MaskEmail(g.Email), MaskPhone(g.Phone), ""
	}
	if hasRequestText(it.SpecialRequests) {
		if unmasked && c.seesRequests() {
			if shown == nil {
				shown = map[string]bool{}
			}
			shown[FieldSpecialRequests] = true
		} else {
			for i := range it.SpecialRequests {
				it.SpecialRequests[i].Text = ""
			}
		}
	}
	var fields []string
	for _, f := range []string{FieldEmail, FieldPhone, FieldLoyaltyNumber, FieldSpecialRequests} { // a stable order
		if shown[f] {
			fields = append(fields, f)
		}
	}
	return it, fields
}

// seesUnmasked reports whether c may see g's contact data unmasked.
func (c Caller) seesUnmasked(g *Guest) bool {
	switch c.Kind {
	case PartnerCaller:
		return c.partner.scopes[ScopePII]
	case GuestCaller:
		return g.Email != "" && dynamo.NormalizeEmail(g.Email) == c.GuestID
	}
	return false
}

// seesRequests reports whether c may read the text of the reservation's
// special requests: a partner with ScopePII, or a signed-in guest (the
// API serves a guest only reservations they are a guest of).
func (c Caller) seesRequests() bool {
	switch c.Kind {
	case PartnerCaller:
		return c.partner.scopes[ScopePII]
	case GuestCaller:
		return true
	}
	return false
}

func hasRequestText(list []SpecialRequest) bool {
	for _, q := range list {
		if q.Text != "" {
			return true
		}
	}
	return false
}

// MaskEmail keeps the first character of the local part and the domain:
// "jane@example.com" -> "j***@example.com". An address without '@' is
// "***"; "" stays "".
func MaskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	switch {
	case email == "":
		return ""
	case !ok || local == "":
		return "***"
	}
	_, n := utf8.DecodeRuneInString(local)
	return local[:n] + "***@" + domain
}

// MaskPhone keeps the last four digits: "+1 555 010 1234" -> "***1234".
// With fewer than five digits nothing is kept ("***"); "" stays "".
func MaskPhone(phone string) string {
	if phone == "" {
		return ""
	}
	var digits []byte
	for i := 0; i < len(phone); i++ {
		if c := phone[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	if len(digits) < 5 {
		return "***"
	}
	return "***" + string(digits[len(digits)-4:])
}
