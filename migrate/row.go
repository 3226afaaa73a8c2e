package migrate

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/postgres"
)

// Column positions of an EDW row (corpus.EDWHeader).
const (
	colConfirmation = iota
	colHotelCode
	colChainCode
	colStatus
	colCreatedAt
	colModifiedAt
	colArrival
	colDeparture
	colRoomType
	colRatePlan
	colAdults
	colChildren
	colTotalAfterTax
	colTotalBeforeTax
	colCurrency
	colGivenName
	colSurname
	colEmail
	colPhone
	colLoyaltyNumber
	colItineraryID
	colSpecialRequests
	numColumns
)

// legacyColumns is the width of extracts written before the
// special_requests column: the same columns without it. Their rows load
// with no special requests (input pads them).
const legacyColumns = colSpecialRequests

// columnNames name the columns in reject reasons.
var columnNames = [numColumns]string{
	"confirmation", "hotel_code", "chain_code", "status", "created_at", "modified_at",
	"arrival", "departure", "room_type", "rate_plan", "adults", "children",
	"total_after_tax", "total_before_tax", "currency", "guest_given_name",
	"guest_surname", "guest_email", "guest_phone", "loyalty_number", "itinerary_id",
	"special_requests",
}

// ItineraryIDType is the external id type of a row's itinerary_id (the
// store's: postgres.ItineraryIDType).
const ItineraryIDType = postgres.ItineraryIDType

// RowError is why one input row was rejected. Reason names the column but
// never carries its value: rows hold personal data.
type RowError struct {
	Column string // "" for the row as a whole
	Reason string
}

func (e *RowError) Error() string {
	if e.Column == "" {
		return e.Reason
	}
	return e.Column + ": " + e.Reason
}

// row is one well-formed input row, typed for the store (backfillRow).
type row struct {
	line                   int64
	rec                    []string // the CSV fields (owned by the row)
	created, modified      time.Time
	arrival, departure     time.Time
	hasMod, hasArr, hasDep bool
	adults, children       int32
	action                 string
	version                reservation.Version
	vs                     string // version.String(), kept: sorting compares it often
	input                  int    // index of the input file (presort)
	// idx holds the guest's blind indexes once protect ran; sealed says
	// whether the guest fields of rec are sealed.
	idx       pii.GuestIndex
	protected bool
	sealed    bool
}

// protect seals the row's guest fields in rec (once) and computes their
// indexes: blind indexes with a sealer, the normalised plain values
// without (what the stream's stores index then).
func (r *row) protect(sealer GuestSealer) error {
	if r.protected {
		return nil
	}
	f := r.rec
	g := reservation.Guest{Primary: true, GivenName: f[colGivenName], Surname: f[colSurname],
		Email: f[colEmail], Phone: f[colPhone], LoyaltyNumber: f[colLoyaltyNumber]}
	if sealer == nil {
		r.idx = pii.GuestIndex{Email: pii.Normalize(pii.IndexEmail, g.Email), Loyalty: pii.Normalize(pii.IndexLoyalty, g.LoyaltyNumber)}
		r.protected = true
		return nil
	}
	out, idx, err := sealer.SealGuests([]reservation.Guest{g})
	if err != nil {
		return fmt.Errorf("migrate: line %d: %w", r.line, err)
	}
	f[colGivenName], f[colSurname], f[colEmail], f[colPhone], f[colLoyaltyNumber] =
		out[0].GivenName, out[0].Surname, out[0].Email, out[0].Phone, out[0].LoyaltyNumber
	r.idx, r.protected, r.sealed = idx[0], true, true
	return nil
}

// guestIndexes are the record's GuestIndexes (sinks.Record): set when
// the guest is sealed, so stores index the blind indexes.
func (r *row) guestIndexes() []pii.GuestIndex {
	if !r.sealed {
		return nil
	}
	return []pii.GuestIndex{r.idx}
}

// isDecimal reports whether s is -?[0-9]+(\.[0-9]+)? (by hand: the
// regular expression cost more than the rest of a row's checks).
func isDecimal(s string) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	digits := func(s string) int {
		n := 0
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		return n
	}
	n := digits(s)
	if n == 0 {
		return false
	}
	if s = s[n:]; s == "" {
		return true
	}
	return s[0] == '.' && len(s) > 1 && digits(s[1:]) == len(s)-1
}

// MaxRowBytes bounds the fields of one row: a reservation row is a few
// hundred bytes, and a DynamoDB item holds at most 400 KB (sealed guest
// fields grow by a third), so a larger row is a reject, not an item that
// would make DynamoDB refuse its whole batch and stop the load.
const MaxRowBytes = 64 << 10

// parseRow checks the fields of one data row and types them.
func parseRow(line int64, rec []string) (row, *RowError) {
	if len(rec) != numColumns {
		return row{}, &RowError{Reason: fmt.Sprintf("%d fields, want %d", len(rec), numColumns)}
	}
	r := row{line: line, rec: rec}
	size := 0
	for _, v := range rec {
		size += len(v)
	}
	if size > MaxRowBytes {
		return row{}, &RowError{Reason: fmt.Sprintf("%d bytes of fields, more than %d", size, MaxRowBytes)}
	}
	// Bytes Postgres refuses in text: caught here, they reject their row;
	// in COPY they would refuse the whole chunk and stop the load.
	for c, v := range rec {
		if !utf8.ValidString(v) {
			return row{}, &RowError{Column: columnNames[c], Reason: "not valid UTF-8"}
		}
		if strings.IndexByte(v, 0) >= 0 {
			return row{}, &RowError{Column: columnNames[c], Reason: "contains a NUL character"}
		}
	}
	for _, c := range []int{colConfirmation, colHotelCode, colCreatedAt} {
		if strings.TrimSpace(rec[c]) == "" {
			return row{}, &RowError{Column: columnNames[c], Reason: "missing"}
		}
	}
	var err error
	if r.created, err = time.Parse(time.RFC3339Nano, rec[colCreatedAt]); err != nil {
		return row{}, &RowError{Column: "created_at", Reason: "not an RFC 3339 time"}
	}
	if rec[colModifiedAt] != "" {
		if r.modified, err = time.Parse(time.RFC3339Nano, rec[colModifiedAt]); err != nil {
			return row{}, &RowError{Column: "modified_at", Reason: "not an RFC 3339 time"}
		}
		r.hasMod = true
	}
	if r.arrival, r.hasArr, err = parseDate(rec[colArrival]); err != nil {
		return row{}, &RowError{Column: "arrival", Reason: "not a YYYY-MM-DD date"}
	}
	if r.departure, r.hasDep, err = parseDate(rec[colDeparture]); err != nil {
		return row{}, &RowError{Column: "departure", Reason: "not a YYYY-MM-DD date"}
	}
	if r.adults, err = count(rec[colAdults]); err != nil {
		return row{}, &RowError{Column: "adults", Reason: "not a non-negative integer"}
	}
	if r.children, err = count(rec[colChildren]); err != nil {
		return row{}, &RowError{Column: "children", Reason: "not a non-negative integer"}
	}
	for _, c := range []int{colTotalAfterTax, colTotalBeforeTax} {
		if rec[c] != "" && !isDecimal(rec[c]) {
			return row{}, &RowError{Column: columnNames[c], Reason: "not a decimal amount"}
		}
		if len(rec[c]) > postgres.MaxAmountDigits {
			return row{}, &RowError{Column: columnNames[c], Reason: fmt.Sprintf("longer than %d characters", postgres.MaxAmountDigits)}
		}
	}
	if rec[colSpecialRequests] != "" {
		// Kept in the stream's encoding: the load pass and the run files
		// then carry the checked list, not the cell as written.
		if rec[colSpecialRequests], err = normalizeSpecialRequests(rec[colSpecialRequests]); err != nil {
			return row{}, &RowError{Column: columnNames[colSpecialRequests], Reason: err.Error()}
		}
	}
	r.action = reservation.ActionCreate
	if s := strings.ToLower(rec[colStatus]); s == "cancelled" || s == "cancel" || s == "canceled" {
		r.action = reservation.ActionCancel
	}
	r.setVersion()
	return r, nil
}

// setVersion derives version and vs from the parsed times: only they
// decide an EDW row's version (reservation.VersionOf of a record with these
// times and no message time or position).
func (r *row) setVersion() {
	r.version = reservation.Version{Updated: r.created}
	if r.hasMod {
		r.version.Updated = r.modified
	}
	r.vs = r.version.String()
}

func parseDate(s string) (time.Time, bool, error) {
	if s == "" {
		return time.Time{}, false, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil, err
}

func count(s string) (int32, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err == nil && n < 0 {
		err = strconv.ErrRange
	}
	return int32(n), err
}

// normTime is how the canonical record writes times: RFC 3339 UTC with Z.
func normTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// reservation is the canonical record of the row, with its special
// requests (an extension).
func (r *row) reservation() (reservation.Reservation, error) {
	f := r.rec
	res := reservation.Reservation{
		Action:         r.action,
		Status:         f[colStatus],
		Confirmation:   f[colConfirmation],
		HotelCode:      f[colHotelCode],
		ChainCode:      f[colChainCode],
		Arrival:        f[colArrival],
		Departure:      f[colDeparture],
		Adults:         int(r.adults),
		Children:       int(r.children),
		TotalAfterTax:  f[colTotalAfterTax],
		TotalBeforeTax: f[colTotalBeforeTax],
		Currency:       f[colCurrency],
		RoomStays: []reservation.RoomStay{{
			RoomType: f[colRoomType], RatePlan: f[colRatePlan], Units: 1,
			Arrival: f[colArrival], Departure: f[colDeparture],
			Adults: int(r.adults), Children: int(r.children),
			TotalAfterTax: f[colTotalAfterTax], TotalBeforeTax: f[colTotalBeforeTax],
			Currency: f[colCurrency],
		}},
		Guests: []reservation.Guest{{
			Primary: true, GivenName: f[colGivenName], Surname: f[colSurname],
			Email: f[colEmail], Phone: f[colPhone], LoyaltyNumber: f[colLoyaltyNumber],
		}},
		ExternalIDs: []reservation.ExternalID{},
	}
	if !r.created.IsZero() {
		res.CreatedAt = normTime(r.created)
	}
	if r.hasMod {
		res.ModifiedAt = normTime(r.modified)
	}
	if f[colItineraryID] != "" {
		res.ExternalIDs = append(res.ExternalIDs, reservation.ExternalID{Type: ItineraryIDType, Value: f[colItineraryID]})
	}
	if f[colSpecialRequests] != "" {
		// parseRow checked the cell; an error here is a damaged run file.
		list, err := decodeSpecialRequests(f[colSpecialRequests])
		if err != nil {
			return res, fmt.Errorf("migrate: line %d: special_requests: %w", r.line, err)
		}
		res.SpecialRequests = list
	}
	return res, nil
}

// key is the row's reservation key.
func (r *row) key() reservation.Key {
	return reservation.Key{HotelCode: r.rec[colHotelCode], Confirmation: r.rec[colConfirmation]}
}

// newer reports whether r wins over s for the same key: the newer version,
// or on a tie the later line.
func (r *row) newer(s *row) bool {
	a, b := r.vs, s.vs
	if a != b {
		return a > b
	}
	return r.line > s.line
}
