package postgres

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// columns holds a batch column by column: the array parameters of
// writeParentsSQL and writeChildrenSQL. Children point at their parent by
// its batch index.
type columns struct {
	idx                                                                []int32
	hotelCode, confirmation, chainCode, status, action                 []string
	messageType, messageID                                             []string
	messageTime, createdAt, modifiedAt                                 []pgtype.Timestamptz
	arrival, departure                                                 []pgtype.Date
	adults, children                                                   []int32
	totalAfterTax, totalBeforeTax, currency                            []string
	cardCode, cardLast4, cardExpire, archiveKey, version               []string
	rsParent, rsOrdinal, rsUnits, rsAdults, rsChildren                 []int32
	rsRoomType, rsRatePlan, rsTotalAfterTax, rsTotalBeforeTax, rsCurr  []string
	rsArrival, rsDeparture                                             []pgtype.Date
	gParent, gOrdinal                                                  []int32
	gPrimary                                                           []bool
	gGiven, gSurname, gEmail, gPhone, gLoyaltyProg, gLoyaltyNum, gCity []string
	gPostal, gCountry, gEmailIndex, gLoyaltyIndex                      []string
	xParent, xOrdinal                                                  []int32
	xType, xValue, xSource                                             []string
	nRoomStays, nGuests, nExternalIDs                                  []int32  // children per parent
	specialRequests                                                    []string // JSON arrays (reservation.AppendSpecialRequests)
}

// parentArgs returns the parameters of writeParentsSQL, in its order.
func (c *columns) parentArgs() []any {
	return []any{
		c.idx, c.hotelCode, c.confirmation, c.chainCode, c.status, c.action, // $1-$6
		c.messageType, c.messageID, c.messageTime, c.createdAt, c.modifiedAt, // $7-$11
		c.arrival, c.departure, c.adults, c.children, // $12-$15
		c.totalAfterTax, c.totalBeforeTax, c.currency, // $16-$18
		c.cardCode, c.cardLast4, c.cardExpire, c.archiveKey, c.version, // $19-$23
		c.nRoomStays, c.nGuests, c.nExternalIDs, // $24-$26
		c.specialRequests, // $27
	}
}

// childArgs returns the parameters of writeChildrenSQL, in its order;
// fresh[n] tells whether writeParentsSQL inserted parent n (in idx order).
func (c *columns) childArgs(fresh []bool) []any {
	return []any{
		c.idx, c.hotelCode, c.confirmation, c.version, // $1-$4
		c.rsParent, c.rsOrdinal, c.rsRoomType, c.rsRatePlan, c.rsUnits, // $5-$9
		c.rsArrival, c.rsDeparture, c.rsAdults, c.rsChildren, // $10-$13
		c.rsTotalAfterTax, c.rsTotalBeforeTax, c.rsCurr, // $14-$16
		c.gParent, c.gOrdinal, c.gPrimary, c.gGiven, c.gSurname, c.gEmail, c.gPhone, // $17-$23
		c.gLoyaltyProg, c.gLoyaltyNum, c.gCity, c.gPostal, c.gCountry, // $24-$28
		c.xParent, c.xOrdinal, c.xType, c.xValue, c.xSource, // $29-$33
		c.nRoomStays, c.nGuests, c.nExternalIDs, // $34-$36
		c.gEmailIndex, c.gLoyaltyIndex, // $37-$38
		fresh, // $39
	}
}

// add appends record idx of the batch. The record must have passed check.
func (c *columns) add(idx int, rec *sinks.Record) {
	r := &rec.Reservation
	i := int32(idx)
	c.idx = append(c.idx, i)
	c.hotelCode = append(c.hotelCode, r.HotelCode)
	c.confirmation = append(c.confirmation, r.Confirmation)
	c.chainCode = append(c.chainCode, r.ChainCode)
	c.status = append(c.status, r.Status)
	c.action = append(c.action, r.Action)
	c.messageType = append(c.messageType, r.MessageType)
	c.messageID = append(c.messageID, r.MessageID)
	c.messageTime = append(c.messageTime, timestamptz(r.MessageTime))
	c.createdAt = append(c.createdAt, timestamptz(r.CreatedAt))
	c.modifiedAt = append(c.modifiedAt, timestamptz(r.ModifiedAt))
	c.arrival = append(c.arrival, date(r.Arrival))
	c.departure = append(c.departure, date(r.Departure))
	c.adults = append(c.adults, int32(r.Adults))
	c.children = append(c.children, int32(r.Children))
	c.totalAfterTax = append(c.totalAfterTax, r.TotalAfterTax)
	c.totalBeforeTax = append(c.totalBeforeTax, r.TotalBeforeTax)
	c.currency = append(c.currency, r.Currency)
	c.cardCode = append(c.cardCode, r.Payment.CardCode)
	c.cardLast4 = append(c.cardLast4, r.Payment.Last4)
	c.cardExpire = append(c.cardExpire, r.Payment.Expire)
	c.archiveKey = append(c.archiveKey, rec.ArchiveKey)
	c.version = append(c.version, rec.Version.String())
	c.nRoomStays = append(c.nRoomStays, int32(len(r.RoomStays)))
	c.nGuests = append(c.nGuests, int32(len(r.Guests)))
	c.nExternalIDs = append(c.nExternalIDs, int32(len(r.ExternalIDs)))
	c.specialRequests = append(c.specialRequests, string(reservation.AppendSpecialRequests(nil, r.SpecialRequests)))
	for n, rs := range r.RoomStays {
		c.rsParent = append(c.rsParent, i)
		c.rsOrdinal = append(c.rsOrdinal, int32(n))
		c.rsRoomType = append(c.rsRoomType, rs.RoomType)
		c.rsRatePlan = append(c.rsRatePlan, rs.RatePlan)
		c.rsUnits = append(c.rsUnits, int32(rs.Units))
		c.rsArrival = append(c.rsArrival, date(rs.Arrival))
		c.rsDeparture = append(c.rsDeparture, date(rs.Departure))
		c.rsAdults = append(c.rsAdults, int32(rs.Adults))
		c.rsChildren = append(c.rsChildren, int32(rs.Children))
		c.rsTotalAfterTax = append(c.rsTotalAfterTax, rs.TotalAfterTax)
		c.rsTotalBeforeTax = append(c.rsTotalBeforeTax, rs.TotalBeforeTax)
		c.rsCurr = append(c.rsCurr, rs.Currency)
	}
	for n, g := range r.Guests {
		c.gParent = append(c.gParent, i)
		c.gOrdinal = append(c.gOrdinal, int32(n))
		c.gPrimary = append(c.gPrimary, g.Primary)
		c.gGiven = append(c.gGiven, g.GivenName)
		c.gSurname = append(c.gSurname, g.Surname)
		c.gEmail = append(c.gEmail, g.Email)
		c.gPhone = append(c.gPhone, g.Phone)
		c.gLoyaltyProg = append(c.gLoyaltyProg, g.LoyaltyProgram)
		c.gLoyaltyNum = append(c.gLoyaltyNum, g.LoyaltyNumber)
		c.gCity = append(c.gCity, g.City)
		c.gPostal = append(c.gPostal, g.PostalCode)
		c.gCountry = append(c.gCountry, g.Country)
		ix := rec.GuestIndex(n)
		c.gEmailIndex = append(c.gEmailIndex, ix.Email)
		c.gLoyaltyIndex = append(c.gLoyaltyIndex, ix.Loyalty)
	}
	for n, x := range r.ExternalIDs {
		c.xParent = append(c.xParent, i)
		c.xOrdinal = append(c.xOrdinal, int32(n))
		c.xType = append(c.xType, x.Type)
		c.xValue = append(c.xValue, x.Value)
		c.xSource = append(c.xSource, x.Source)
	}
}

// timestamptz maps a checked RFC 3339 time to a timestamptz, "" to NULL.
func timestamptz(s string) pgtype.Timestamptz {
	t, err := time.Parse(time.RFC3339Nano, s)
	return pgtype.Timestamptz{Time: t, Valid: s != "" && err == nil}
}

// date maps a checked YYYY-MM-DD to a date, "" to NULL.
func date(s string) pgtype.Date {
	t, err := time.Parse(time.DateOnly, s)
	return pgtype.Date{Time: t, Valid: s != "" && err == nil}
}

// decimalPattern is what numeric accepts and the parser emits; Postgres
// would also take NaN, Infinity and exponents, which are not money.
var decimalPattern = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)

// check rejects, before anything is sent, what Postgres would reject for
// the whole batch: a record without identity, unparsable times, dates or
// amounts, integers beyond integer, text that is not UTF-8 or holds NUL.
// The error names the field, never its value.
func check(rec *sinks.Record) error {
	r := &rec.Reservation
	if err := sinks.CheckKeyed(rec); err != nil {
		return err
	}
	var errs fieldChecks
	errs.text("hotel_code", r.HotelCode)
	errs.text("confirmation", r.Confirmation)
	errs.text("chain_code", r.ChainCode)
	errs.text("status", r.Status)
	errs.text("message_type", r.MessageType)
	errs.text("message_id", r.MessageID)
	errs.time("message_time", r.MessageTime)
	errs.time("created_at", r.CreatedAt)
	errs.time("modified_at", r.ModifiedAt)
	errs.date("arrival", r.Arrival)
	errs.date("departure", r.Departure)
	errs.int32("adults", r.Adults)
	errs.int32("children", r.Children)
	errs.decimal("total_after_tax", r.TotalAfterTax)
	errs.decimal("total_before_tax", r.TotalBeforeTax)
	errs.text("currency", r.Currency)
	errs.text("payment.card_code", r.Payment.CardCode)
	errs.text("payment.last4", r.Payment.Last4)
	errs.text("payment.expire", r.Payment.Expire)
	errs.text("archive_key", rec.ArchiveKey)
	for n, rs := range r.RoomStays {
		errs.in("room_stays", n)
		errs.text("room_type", rs.RoomType)
		errs.text("rate_plan", rs.RatePlan)
		errs.int32("units", rs.Units)
		errs.date("arrival", rs.Arrival)
		errs.date("departure", rs.Departure)
		errs.int32("adults", rs.Adults)
		errs.int32("children", rs.Children)
		errs.decimal("total_after_tax", rs.TotalAfterTax)
		errs.decimal("total_before_tax", rs.TotalBeforeTax)
		errs.text("currency", rs.Currency)
	}
	for n, g := range r.Guests {
		errs.in("guests", n)
		errs.text("given_name", g.GivenName)
		errs.text("surname", g.Surname)
		errs.text("email", g.Email)
		errs.text("phone", g.Phone)
		errs.text("loyalty_program", g.LoyaltyProgram)
		errs.text("loyalty_number", g.LoyaltyNumber)
		errs.text("city", g.City)
		errs.text("postal_code", g.PostalCode)
		errs.text("country", g.Country)
	}
	for n, x := range r.ExternalIDs {
		errs.in("external_ids", n)
		errs.text("type", x.Type)
		errs.text("value", x.Value)
		errs.text("source", x.Source)
	}
	for n, q := range r.SpecialRequests {
		errs.in("special_requests", n)
		errs.text("code", q.Code)
		errs.text("name", q.Name)
		errs.text("text", q.Text)
	}
	if errs.first != nil {
		return errs.first
	}
	return nil
}

// fieldChecks keeps the first failed check. Field names are formatted only
// on failure: checking is on the hot path.
type fieldChecks struct {
	first *reservation.FieldError
	list  string // "room_stays" while checking room_stays[item]; "" at top level
	item  int
}

// in makes the following checks name fields of list[item].
func (c *fieldChecks) in(list string, item int) { c.list, c.item = list, item }

func (c *fieldChecks) fail(field, reason string) {
	if c.first != nil {
		return
	}
	if c.list != "" {
		field = fmt.Sprintf("%s[%d].%s", c.list, c.item, field)
	}
	c.first = &reservation.FieldError{Field: field, Reason: reason}
}

func (c *fieldChecks) text(field, v string) {
	if !utf8.ValidString(v) {
		c.fail(field, "not valid UTF-8")
	} else if strings.IndexByte(v, 0) >= 0 {
		c.fail(field, "contains a NUL character")
	}
}

func (c *fieldChecks) time(field, v string) {
	if v == "" {
		return
	}
	if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
		c.fail(field, "not an RFC 3339 time")
	}
}

func (c *fieldChecks) date(field, v string) {
	if v == "" {
		return
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		c.fail(field, "not a YYYY-MM-DD date")
	}
}

func (c *fieldChecks) decimal(field, v string) {
	if v != "" && !decimalPattern.MatchString(v) {
		c.fail(field, "not a decimal number")
	}
}

func (c *fieldChecks) int32(field string, v int) {
	if v < math.MinInt32 || v > math.MaxInt32 {
		c.fail(field, "out of range")
	}
}
