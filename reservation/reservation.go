package reservation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Actions a message can carry for a reservation.
const (
	ActionCreate = "create"
	ActionModify = "modify"
	ActionCancel = "cancel"
)

// Reservation is the canonical record extracted from one reservation in a
// message. Field order and JSON names are part of the contract.
//
// Fields after Payment are extensions: stored, served and replayed like
// the rest, but not part of the canonical record of DESIGN.md, whose field
// set tests outside the project read. AppendJSON (resingest parse) leaves
// them out; AppendExtendedJSON and MarshalJSON write them.
//
// A Reservation is a plain value; it is safe to share between goroutines as
// long as nobody mutates it.
type Reservation struct {
	MessageType    string       `json:"message_type"`
	MessageID      string       `json:"message_id"`
	MessageTime    string       `json:"message_time"`
	Action         string       `json:"action"`
	Status         string       `json:"status"`
	Confirmation   string       `json:"confirmation"`
	HotelCode      string       `json:"hotel_code"`
	ChainCode      string       `json:"chain_code"`
	CreatedAt      string       `json:"created_at"`
	ModifiedAt     string       `json:"modified_at"`
	Arrival        string       `json:"arrival"`
	Departure      string       `json:"departure"`
	RoomStays      []RoomStay   `json:"room_stays"`
	Adults         int          `json:"adults"`
	Children       int          `json:"children"`
	Guests         []Guest      `json:"guests"`
	TotalAfterTax  string       `json:"total_after_tax"`
	TotalBeforeTax string       `json:"total_before_tax"`
	Currency       string       `json:"currency"`
	ExternalIDs    []ExternalID `json:"external_ids"`
	Payment        Payment      `json:"payment"`

	// SpecialRequests are the reservation's SpecialRequest elements (of
	// its room stays, ResGlobalInfo, or the reservation itself), in the
	// mapping's order. An extension: see above.
	SpecialRequests []SpecialRequest `json:"special_requests"`
}

// SpecialRequest is one request of the guest to the hotel (an extra bed,
// a crib, a late arrival). Text is free text the guest or agent wrote.
type SpecialRequest struct {
	Code string `json:"code"` // @RequestCode: the vendor's or OTA's code, e.g. "CRIB", "1.14"
	Name string `json:"name"` // @Name, e.g. "extra bed"
	Text string `json:"text"` // the Text element, else @RequestComments
}

// RoomStay is one booked room stay of a reservation.
type RoomStay struct {
	RoomType       string `json:"room_type"`
	RatePlan       string `json:"rate_plan"`
	Units          int    `json:"units"`
	Arrival        string `json:"arrival"`
	Departure      string `json:"departure"`
	Adults         int    `json:"adults"`
	Children       int    `json:"children"`
	TotalAfterTax  string `json:"total_after_tax"`
	TotalBeforeTax string `json:"total_before_tax"`
	Currency       string `json:"currency"`
}

// Guest is one guest (a ResGuest with a customer profile). Every field but
// Primary is personal data.
type Guest struct {
	Primary        bool   `json:"primary"`
	GivenName      string `json:"given_name"`
	Surname        string `json:"surname"`
	Email          string `json:"email"`
	Phone          string `json:"phone"`
	LoyaltyProgram string `json:"loyalty_program"`
	LoyaltyNumber  string `json:"loyalty_number"`
	City           string `json:"city"`
	PostalCode     string `json:"postal_code"`
	Country        string `json:"country"`
}

// ExternalID is a HotelReservationID or UniqueID carried by the reservation.
type ExternalID struct {
	Type   string `json:"type"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

// Payment is what the record keeps of the first payment card: never the full
// number and never the CVV.
type Payment struct {
	CardCode string `json:"card_code"`
	Last4    string `json:"last4"`
	Expire   string `json:"expire"`
}

// Normalize replaces nil slices by empty ones so that JSON never carries null.
func (r *Reservation) Normalize() {
	if r.RoomStays == nil {
		r.RoomStays = []RoomStay{}
	}
	if r.Guests == nil {
		r.Guests = []Guest{}
	}
	if r.ExternalIDs == nil {
		r.ExternalIDs = []ExternalID{}
	}
	if r.SpecialRequests == nil {
		r.SpecialRequests = []SpecialRequest{}
	}
}

// MarshalJSON encodes the whole record, extensions included
// (AppendExtendedJSON's bytes), with empty arrays in place of nil slices.
// It writes < > & as they are; json.Marshal escapes them again, an Encoder
// with SetEscapeHTML(false) (as resingest parse uses) keeps them.
func (r Reservation) MarshalJSON() ([]byte, error) {
	type plain Reservation // no methods: avoids recursion
	r.Normalize()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(plain(r)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Key identifies a reservation across messages and stores.
type Key struct {
	HotelCode    string
	Confirmation string
}

// String renders the key as HOTEL/CONFIRMATION.
func (k Key) String() string { return k.HotelCode + "/" + k.Confirmation }

// Key returns the reservation's identity.
func (r *Reservation) Key() Key { return Key{HotelCode: r.HotelCode, Confirmation: r.Confirmation} }

// PrimaryGuest returns the guest marked primary, else the first guest, else
// the zero Guest.
func (r *Reservation) PrimaryGuest() Guest {
	if i := r.PrimaryGuestIndex(); i >= 0 {
		return r.Guests[i]
	}
	return Guest{}
}

// PrimaryGuestIndex is the index in Guests of PrimaryGuest, or -1 when
// there are no guests.
func (r *Reservation) PrimaryGuestIndex() int {
	for i, g := range r.Guests {
		if g.Primary {
			return i
		}
	}
	if len(r.Guests) > 0 {
		return 0
	}
	return -1
}

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid reservation")

// FieldError names the field that made a record invalid. It never carries the
// field's value, which may be personal data.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("invalid reservation: %s: %s", e.Field, e.Reason)
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Validate checks what the pipeline needs of a record: a confirmation
// number and a known action. An empty hotel code is valid here: the
// pipeline resolves it from the confirmation (DESIGN.md, key resolution);
// a store requires it (ValidateKeyed).
func (r *Reservation) Validate() error {
	if r.Confirmation == "" {
		return &FieldError{Field: "confirmation", Reason: "missing confirmation number"}
	}
	switch r.Action {
	case ActionCreate, ActionModify, ActionCancel:
	default:
		return &FieldError{Field: "action", Reason: "unknown action"}
	}
	return nil
}

// ValidateKeyed checks what every store needs: Validate, and a hotel code,
// so that the record has its full key. No row or item is ever stored with
// an empty hotel code.
func (r *Reservation) ValidateKeyed() error {
	if err := r.Validate(); err != nil {
		return err
	}
	if r.HotelCode == "" {
		return &FieldError{Field: "hotel_code", Reason: "missing hotel code"}
	}
	return nil
}
