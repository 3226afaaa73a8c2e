package parse

import (
	"slices"
	"strconv"
	"time"

	"github.com/resingest/resingest/redact"
	"github.com/resingest/resingest/reservation"
)

// node is a handle on an element (or the document) of one parsed message;
// what it points at is up to the source that issued it.
type node int32

// source evaluates mapping expressions over one parsed message. Each engine
// (xpath over a DOM, fast over a tape) provides one, so the rules that
// combine values below are shared and both engines give identical records.
type source interface {
	// first returns the first non-empty value of a list of expressions.
	first(list exprList, at, msg node) string
	// truth reports whether any expression of the list is true (XPath
	// boolean rules).
	truth(list exprList, at, msg node) bool
	// nodes returns the elements of the first expression that selects any,
	// in document order.
	nodes(list exprList, at, msg node) []node
	// name returns an element's local name.
	name(n node) string
}

// scope is what expressions are evaluated against: the current node and the
// message root (for "$message/" expressions).
type scope struct {
	src           source
	node, message node
}

func (s scope) first(list exprList) string { return s.src.first(list, s.node, s.message) }
func (s scope) truth(list exprList) bool   { return s.src.truth(list, s.node, s.message) }
func (s scope) nodes(list exprList) []node { return s.src.nodes(list, s.node, s.message) }
func (s scope) at(n node) scope            { return scope{src: s.src, node: n, message: s.message} }

// extraction collects the first error while filling a record, so field code
// stays linear.
type extraction struct {
	index int // 1-based reservation number, for error texts
	err   error
}

func (x *extraction) fail(kind error, field, reason string) {
	if x.err == nil {
		x.err = newError(kind, "reservation %d: %s: %s", x.index, field, reason)
	}
}

func (x *extraction) time(field, raw string) string {
	v, err := normalizeTime(raw)
	if err != nil {
		x.fail(ErrBadValue, field, "not a recognised date-time")
	}
	return v
}

func (x *extraction) decimal(field, raw string) string {
	v, err := decimal(raw)
	if err != nil {
		x.fail(ErrBadValue, field, "not a decimal amount")
	}
	return v
}

func (x *extraction) count(field, raw string, def int) int {
	v, err := count(raw, def)
	if err != nil {
		x.fail(ErrBadValue, field, "not a non-negative integer")
	}
	return v
}

// extract reads every reservation of a message whose root is msgRoot.
func (c *compiledMapping) extract(src source, msgRoot node) ([]reservation.Reservation, error) {
	top := scope{src: src, node: msgRoot, message: msgRoot}
	rootName := src.name(msgRoot)
	head := reservation.Reservation{MessageType: rootName}
	head.MessageID = top.first(c.message["message_id"])
	var err error
	if head.MessageTime, err = normalizeTime(top.first(c.message["message_time"])); err != nil {
		return nil, newError(ErrBadValue, "message_time: not a recognised date-time")
	}
	resNodes := top.nodes(c.reservations)
	if len(resNodes) == 0 {
		return nil, newError(ErrNoReservation, "%s has no reservation element", rootName)
	}
	out := make([]reservation.Reservation, 0, len(resNodes))
	for i, n := range resNodes {
		r := head
		x := &extraction{index: i + 1}
		c.fillReservation(top.at(n), x, &r)
		if x.err != nil {
			return nil, x.err
		}
		if r.Confirmation == "" {
			return nil, newError(ErrNoConfirmation, "reservation %d of %d", i+1, len(resNodes))
		}
		out = append(out, r)
	}
	return out, nil
}

func (c *compiledMapping) fillReservation(s scope, x *extraction, r *reservation.Reservation) {
	f := c.reservation
	r.Status = s.first(f["status"])
	r.Confirmation = s.first(f["confirmation"])
	switch {
	case s.truth(c.cancel):
		r.Action = reservation.ActionCancel
	case s.truth(c.modify):
		r.Action = reservation.ActionModify
	default:
		r.Action = reservation.ActionCreate
	}
	r.CreatedAt = x.time("created_at", s.first(f["created_at"]))
	r.ModifiedAt = x.time("modified_at", s.first(f["modified_at"]))

	if props := s.nodes(c.property.node); len(props) > 0 {
		p := s.at(props[0])
		r.HotelCode = p.first(c.property.fields["hotel_code"])
		r.ChainCode = p.first(c.property.fields["chain_code"])
	}

	c.fillRoomStays(s, x, r)

	r.TotalAfterTax = x.decimal("total_after_tax", s.first(f["total_after_tax"]))
	r.TotalBeforeTax = x.decimal("total_before_tax", s.first(f["total_before_tax"]))
	r.Currency = s.first(f["currency"])
	var after, before []string
	for _, rs := range r.RoomStays {
		after, before = append(after, rs.TotalAfterTax), append(before, rs.TotalBeforeTax)
		if r.Currency == "" {
			r.Currency = rs.Currency
		}
	}
	if r.TotalAfterTax == "" {
		r.TotalAfterTax = sumDecimals(after)
	}
	if r.TotalBeforeTax == "" {
		r.TotalBeforeTax = sumDecimals(before)
	}

	for _, g := range s.nodes(c.guests.node) {
		r.Guests = append(r.Guests, c.guest(s.at(g)))
	}
	for _, spec := range c.externalIDs {
		for _, n := range s.nodes(spec.node) {
			e := s.at(n)
			r.ExternalIDs = append(r.ExternalIDs, reservation.ExternalID{
				Type:   e.first(spec.fields["type"]),
				Value:  e.first(spec.fields["value"]),
				Source: e.first(spec.fields["source"]),
			})
		}
	}
	for _, spec := range c.specialReqs {
		for _, n := range s.nodes(spec.node) {
			q := s.at(n)
			// Name and text are free text, where agents type card
			// numbers: masked as the archive masks them (redact.FreeText).
			r.SpecialRequests = append(r.SpecialRequests, reservation.SpecialRequest{
				Code: q.first(spec.fields["code"]),
				Name: redact.FreeText(q.first(spec.fields["name"])),
				Text: redact.FreeText(q.first(spec.fields["text"])),
			})
		}
	}
	if cards := s.nodes(c.payment.node); len(cards) > 0 {
		p := s.at(cards[0])
		r.Payment = reservation.Payment{
			CardCode: p.first(c.payment.fields["card_code"]),
			Last4:    last4(p.first(c.payment.fields["number"])),
			Expire:   p.first(c.payment.fields["expire"]),
		}
	}
	r.Normalize()
}

func (c *compiledMapping) fillRoomStays(s scope, x *extraction, r *reservation.Reservation) {
	f := c.roomStays.fields
	var first, last time.Time
	for i, n := range s.nodes(c.roomStays.node) {
		rs := s.at(n)
		field := func(name string) string { return "room_stays[" + strconv.Itoa(i) + "]." + name }
		stay := reservation.RoomStay{
			RoomType:       rs.first(f["room_type"]),
			RatePlan:       rs.first(f["rate_plan"]),
			Units:          x.count(field("units"), rs.first(f["units"]), 1),
			TotalAfterTax:  x.decimal(field("total_after_tax"), rs.first(f["total_after_tax"])),
			TotalBeforeTax: x.decimal(field("total_before_tax"), rs.first(f["total_before_tax"])),
			Currency:       rs.first(f["currency"]),
		}
		arrival, departure := c.stayDates(rs, x, i)
		if !arrival.IsZero() {
			stay.Arrival = arrival.Format(time.DateOnly)
			if first.IsZero() || arrival.Before(first) {
				first = arrival
			}
		}
		if !departure.IsZero() {
			stay.Departure = departure.Format(time.DateOnly)
			if departure.After(last) {
				last = departure
			}
		}
		stay.Adults, stay.Children = c.countGuests(rs, x, i)
		r.Adults += stay.Adults
		r.Children += stay.Children
		r.RoomStays = append(r.RoomStays, stay)
	}
	if !first.IsZero() {
		r.Arrival = first.Format(time.DateOnly)
	}
	if !last.IsZero() {
		r.Departure = last.Format(time.DateOnly)
	}
}

// stayDates reads a room stay's start and end; with only a start and a
// duration the end is computed.
func (c *compiledMapping) stayDates(rs scope, x *extraction, i int) (arrival, departure time.Time) {
	f := c.roomStays.fields
	name := "room_stays[" + strconv.Itoa(i) + "]"
	var err error
	if v := rs.first(f["start"]); v != "" {
		if arrival, err = stayDate(v); err != nil {
			x.fail(ErrBadValue, name+".start", "not a recognised date")
		}
	}
	if v := rs.first(f["end"]); v != "" {
		if departure, err = stayDate(v); err != nil {
			x.fail(ErrBadValue, name+".end", "not a recognised date")
		}
	} else if d := rs.first(f["duration"]); d != "" && !arrival.IsZero() {
		if departure, err = addDuration(arrival, d); err != nil {
			x.fail(ErrBadValue, name+".duration", "not a stay duration such as P3N or P3D")
		}
	}
	return arrival, departure
}

// countGuests classifies a room stay's guest counts into adults and
// children (see guest_counts in the mapping).
func (c *compiledMapping) countGuests(rs scope, x *extraction, i int) (adults, children int) {
	f := c.guestCounts.fields
	spec := &c.m.file.GuestCounts
	for _, n := range rs.nodes(c.guestCounts.node) {
		g := rs.at(n)
		num := x.count("room_stays["+strconv.Itoa(i)+"].guest_count", g.first(f["count"]), 0)
		code, age := g.first(f["age_code"]), g.first(f["age"])
		switch {
		case slices.Contains(spec.AdultCodes, code) || (code == "" && age == ""):
			adults += num
		case slices.Contains(spec.ChildCodes, code) || age != "":
			children += num
		}
	}
	return adults, children
}

func (c *compiledMapping) guest(g scope) reservation.Guest {
	f := c.guests.fields
	return reservation.Guest{
		Primary:        g.truth(f["primary"]),
		GivenName:      g.first(f["given_name"]),
		Surname:        g.first(f["surname"]),
		Email:          g.first(f["email"]),
		Phone:          g.first(f["phone"]),
		LoyaltyProgram: g.first(f["loyalty_program"]),
		LoyaltyNumber:  g.first(f["loyalty_number"]),
		City:           g.first(f["city"]),
		PostalCode:     g.first(f["postal_code"]),
		Country:        g.first(f["country"]),
	}
}
