package corpus

import (
	"fmt"
	"strconv"
	"time"

	"github.com/resingest/resingest/reservation"
)

// Namespaces of the envelope and the payload.
const (
	NamespaceSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
	NamespaceWSA    = "http://www.w3.org/2005/08/addressing"
	NamespaceOTA    = "http://www.opentravel.org/OTA/2003/05"
)

// Message types the corpus uses.
const (
	TypeResNotif       = "OTA_HotelResNotifRQ"
	TypeResModifyNotif = "OTA_HotelResModifyNotifRQ"
)

type kind int

const (
	kindCreate kind = iota
	kindModify
	kindCancel
)

// shape is how one message spells its action; real senders differ.
type shape struct {
	msgType    string
	rootStatus string // root @ResStatus
	resStatus  string // HotelReservation @ResStatus
	minimal    bool   // cancellation with only the identifying parts
	verbose    bool   // descriptions, tax breakdowns and cross references
	codesOnly  bool   // room type and rate plan only on RoomRate, no RoomTypes/RatePlans
}

func (g *Generator) shapeFor(k kind) shape {
	s := shape{msgType: TypeResNotif, verbose: g.r.IntN(5) == 0, codesOnly: g.r.IntN(3) == 0}
	x := g.r.IntN(10)
	switch k {
	case kindCreate:
		if x < 6 {
			s.rootStatus = "Commit"
		}
		if g.r.IntN(10) < 3 {
			s.resStatus = "Book"
		}
	case kindModify:
		switch {
		case x < 4:
			s.msgType = TypeResModifyNotif
		case x < 8:
			s.rootStatus = "Modify"
		default:
			s.resStatus = "Modify"
		}
	case kindCancel:
		if x < 6 {
			s.rootStatus, s.minimal = "Cancel", true
		} else {
			s.resStatus = "Cancelled"
		}
	}
	return s
}

// render writes the current version of b as one message.
func (g *Generator) render(b *booking, k kind) Message {
	h := g.hotels[b.hotel]
	zone := g.zones[h.city]
	sh := g.shapeFor(k)
	w := &g.w
	// Most senders send one long line; some indent with tabs or spaces.
	w.reset([]string{"  ", "  ", "  ", "\t", "\t", "\t", "\t", "\t", "", "", "", "", "", "", "", "", "", "", "", ""}[g.r.IntN(20)])

	msgID := g.newMessageID()
	echo := digits(g.r, 9)
	if g.r.IntN(4) == 0 {
		echo = g.uuid()
	}
	ts := g.stamp(g.now, zone, false)
	e := Expect{
		MessageType:  sh.msgType,
		MessageID:    msgID,
		MessageTime:  utc(g.now),
		Status:       sh.resStatus,
		Confirmation: b.conf,
		HotelCode:    h.code,
		ChainCode:    chains[h.chain].code,
		CreatedAt:    utc(b.created),
		Version:      b.version,
		RoomStays:    len(b.stays),
	}
	if e.Status == "" {
		e.Status = sh.rootStatus
	}
	switch k {
	case kindCreate:
		e.Action = reservation.ActionCreate
	case kindModify:
		e.Action = reservation.ActionModify
		e.ModifiedAt = utc(b.updated)
	case kindCancel:
		e.Action = reservation.ActionCancel
		e.ModifiedAt = utc(b.updated)
	}

	env := []string{"soap", "soap", "soap", "env", "s"}[g.r.IntN(5)]
	wsa := "wsa"
	if g.r.IntN(6) == 0 {
		wsa = "a"
	}
	w.b = append(w.b, `<?xml version="1.0" encoding="UTF-8"?>`...)
	w.start(env+":Envelope", "xmlns:"+env, NamespaceSOAP12, "xmlns:"+wsa, NamespaceWSA)
	w.start(env + ":Header")
	w.text(wsa+":MessageID", msgID)
	if sh.verbose {
		w.text(wsa+":To", "https://pms.example.com/htng/"+h.code)
	}
	w.text(wsa+":Action", actionURIs[g.r.IntN(len(actionURIs))])
	if sh.verbose {
		w.start(wsa + ":ReplyTo")
		w.text(wsa+":Address", "http://www.w3.org/2005/08/addressing/anonymous")
		w.end(wsa + ":ReplyTo")
	}
	w.end(env + ":Header")
	w.start(env + ":Body")

	target, lang := "", ""
	if sh.verbose {
		target, lang = "Production", "en-us"
	}
	w.start(sh.msgType, "xmlns", NamespaceOTA, "EchoToken", echo, "TimeStamp", ts,
		"Target", target, "Version", []string{"1.003", "5.000", "2.0"}[g.r.IntN(3)],
		"PrimaryLangID", lang, "ResStatus", sh.rootStatus)
	g.writePOS(b)
	list, item := "HotelReservations", "HotelReservation"
	if sh.msgType == TypeResModifyNotif {
		list, item = "HotelResModifies", "HotelResModify"
	}
	w.start(list)
	created := g.stamp(b.created, zone, true)
	modified := ""
	if k != kindCreate {
		modified = g.stamp(b.updated, zone, false)
	}
	w.start(item, "RoomStayReservation", flag(sh.verbose, "true"), "CreateDateTime", created, "LastModifyDateTime", modified,
		"CreatorID", flag(sh.verbose, channels[b.channel].requestor), "ResStatus", sh.resStatus)
	w.empty("UniqueID", "Type", "14", "ID", b.conf)
	if k == kindCancel {
		w.empty("UniqueID", "Type", "15", "ID", b.cancelNo)
	}
	g.writeStays(b, h, sh, &e)
	g.writeGuests(b, sh, &e)
	g.writeGlobal(b, h, k, sh.minimal, &e)
	w.end(item)
	w.end(list)
	w.end(sh.msgType)
	w.end(env + ":Body")
	w.end(env + ":Envelope")
	w.b = append(w.b, '\n')

	return Message{
		Key:    b.conf,
		Hotel:  h.code,
		XML:    append(make([]byte, 0, len(w.b)), w.b...),
		Expect: e,
	}
}

func (g *Generator) writePOS(b *booking) {
	w := &g.w
	ch := channels[b.channel]
	w.start("POS")
	w.start("Source")
	w.empty("RequestorID", "Type", "22", "ID", ch.requestor)
	w.start("BookingChannel", "Type", ch.chType, "Primary", "true")
	w.text("CompanyName", ch.name, "Code", ch.code)
	w.end("BookingChannel")
	w.end("Source")
	w.end("POS")
}

func (g *Generator) writeStays(b *booking, h hotel, sh shape, e *Expect) {
	w := &g.w
	c := cities[h.city]
	var before, after int64
	var arrival, departure time.Time
	w.start("RoomStays")
	for i, s := range b.stays {
		if i == 0 || s.start.Before(arrival) {
			arrival = s.start
		}
		if i == 0 || s.end().After(departure) {
			departure = s.end()
		}
		e.Adults += s.adults
		e.Children += len(s.childAges)
		nightly := g.nightly(h, s)
		var sb int64
		for _, n := range nightly {
			sb += n
		}
		sb *= int64(s.units)
		tax := percentOf(sb, c.taxBP)
		before += sb
		after += sb + tax

		rt, rp := roomTypes[s.room], ratePlans[s.plan]
		units := strconv.Itoa(s.units)
		w.start("RoomStay")
		if sh.minimal {
			w.start("RoomRates")
			w.empty("RoomRate", "RoomTypeCode", rt.code, "RatePlanCode", rp.code, "NumberOfUnits", units)
			w.end("RoomRates")
		} else if sh.verbose || !sh.codesOnly {
			w.start("RoomTypes")
			if sh.verbose {
				w.start("RoomType", "RoomTypeCode", rt.code, "NumberOfUnits", units)
				w.start("RoomDescription", "Name", rt.name)
				w.text("Text", rt.text)
				w.end("RoomDescription")
				w.end("RoomType")
			} else {
				w.empty("RoomType", "RoomTypeCode", rt.code)
			}
			w.end("RoomTypes")
			w.start("RatePlans")
			if sh.verbose {
				w.start("RatePlan", "RatePlanCode", rp.code)
				w.start("RatePlanDescription")
				w.text("Text", rp.name)
				w.end("RatePlanDescription")
				w.end("RatePlan")
			} else {
				w.empty("RatePlan", "RatePlanCode", rp.code)
			}
			w.end("RatePlans")
		}
		if !sh.minimal {
			g.writeRates(s, nightly, rt.code, rp.code, units, c, sh.verbose)
		}
		w.start("GuestCounts", "IsPerRoom", flag(sh.verbose, "false"))
		w.empty("GuestCount", "AgeQualifyingCode", "10", "Count", strconv.Itoa(s.adults))
		if len(s.childAges) > 0 {
			if s.ages {
				for _, a := range s.childAges {
					w.empty("GuestCount", "AgeQualifyingCode", "8", "Age", strconv.Itoa(a), "Count", "1")
				}
			} else {
				w.empty("GuestCount", "AgeQualifyingCode", "8", "Count", strconv.Itoa(len(s.childAges)))
			}
		}
		w.end("GuestCounts")
		if s.duration {
			w.empty("TimeSpan", "Start", date(s.start), "Duration", "P"+strconv.Itoa(s.nights)+"N")
		} else {
			w.empty("TimeSpan", "Start", date(s.start), "End", date(s.end()))
		}
		if sh.verbose {
			w.start("Total", "AmountBeforeTax", money(sb), "AmountAfterTax", money(sb+tax), "CurrencyCode", c.currency)
			w.start("Taxes")
			w.empty("Tax", "Type", "Exclusive", "Code", "19", "Percent", money(c.taxBP), "Amount", money(tax), "CurrencyCode", c.currency)
			w.end("Taxes")
			w.end("Total")
			w.empty("BasicPropertyInfo", "ChainCode", chains[h.chain].code, "BrandCode", chains[h.chain].brand,
				"HotelCode", h.code, "HotelName", h.name)
		} else {
			w.empty("Total", "AmountBeforeTax", money(sb), "AmountAfterTax", money(sb+tax), "CurrencyCode", c.currency)
			w.empty("BasicPropertyInfo", "ChainCode", chains[h.chain].code, "HotelCode", h.code)
		}
		if sh.verbose {
			w.start("ResGuestRPHs")
			for j := range b.guests {
				w.empty("ResGuestRPH", "RPH", strconv.Itoa(j+1))
			}
			w.end("ResGuestRPHs")
			if len(s.requests) > 0 {
				w.start("SpecialRequests")
				for _, r := range s.requests {
					w.start("SpecialRequest", "RequestCode", specialRequests[r].code, "Language", "en")
					w.text("Text", specialRequests[r].text)
					w.end("SpecialRequest")
				}
				w.end("SpecialRequests")
			}
		}
		w.end("RoomStay")
	}
	w.end("RoomStays")
	e.Arrival, e.Departure = date(arrival), date(departure)
	e.Currency = c.currency
	e.TotalBeforeTax, e.TotalAfterTax = money(before), money(after)
}

// writeRates writes one Rate per run of nights with the same price, or,
// when not verbose, one Rate with the average nightly price as many CRSs do.
func (g *Generator) writeRates(s stay, nightly []int64, room, plan, units string, c city, verbose bool) {
	w := &g.w
	w.start("RoomRates")
	w.start("RoomRate", "RoomTypeCode", room, "RatePlanCode", plan, "NumberOfUnits", units)
	w.start("Rates")
	if !verbose {
		var sum int64
		for _, n := range nightly {
			sum += n
		}
		avg := sum / int64(len(nightly))
		w.start("Rate", "EffectiveDate", date(s.start), "ExpireDate", date(s.end()), "RateTimeUnit", "Day", "UnitMultiplier", "1")
		w.empty("Base", "AmountBeforeTax", money(avg), "AmountAfterTax", money(avg+percentOf(avg, c.taxBP)), "CurrencyCode", c.currency)
		w.end("Rate")
		nightly = nil
	}
	for i := 0; i < len(nightly); {
		j := i + 1
		for j < len(nightly) && nightly[j] == nightly[i] {
			j++
		}
		w.start("Rate", "EffectiveDate", date(s.start.AddDate(0, 0, i)), "ExpireDate", date(s.start.AddDate(0, 0, j)),
			"RateTimeUnit", "Day", "UnitMultiplier", "1")
		w.empty("Base", "AmountBeforeTax", money(nightly[i]), "AmountAfterTax", money(nightly[i]+percentOf(nightly[i], c.taxBP)),
			"CurrencyCode", c.currency)
		w.end("Rate")
		i = j
	}
	w.end("Rates")
	w.end("RoomRate")
	w.end("RoomRates")
}

// nightly prices each night of s in cents: weekends and summer cost more.
func (g *Generator) nightly(h hotel, s stay) []int64 {
	base := h.baseRate * roomTypes[s.room].factor / 100 * ratePlans[s.plan].factor / 100
	out := make([]int64, s.nights)
	for i := range out {
		d := s.start.AddDate(0, 0, i)
		p := base
		if wd := d.Weekday(); wd == time.Friday || wd == time.Saturday {
			p = p * 115 / 100
		}
		switch d.Month() {
		case time.June, time.July, time.August:
			p = p * 120 / 100
		case time.December:
			p = p * 110 / 100
		}
		out[i] = (p + 50) / 100 * 100 // whole currency units, as rate sheets are
	}
	return out
}

func (g *Generator) writeGuests(b *booking, sh shape, e *Expect) {
	minimal := sh.minimal
	w := &g.w
	primaryTrue, otherFalse := "true", "false"
	if g.r.IntN(3) == 0 {
		primaryTrue, otherFalse = "1", "0"
	}
	p := b.guests[0]
	e.GivenName, e.Surname = p.given, p.surname
	if !minimal {
		e.Email = p.email
	}
	w.start("ResGuests")
	for i, gu := range b.guests {
		if minimal && i > 0 {
			break
		}
		primary, arrival := otherFalse, ""
		if i == 0 {
			primary, arrival = primaryTrue, arrivalTimes[g.r.IntN(len(arrivalTimes))]
		}
		if minimal {
			primary, arrival = "", ""
		}
		w.start("ResGuest", "ResGuestRPH", strconv.Itoa(i+1), "AgeQualifyingCode", flag(sh.verbose, "10"),
			"ArrivalTime", arrival, "PrimaryIndicator", primary)
		w.start("Profiles")
		w.start("ProfileInfo")
		if gu.profileID != "" && !minimal {
			w.empty("UniqueID", "Type", "1", "ID", gu.profileID)
		}
		w.start("Profile", "ProfileType", "1")
		w.start("Customer")
		w.start("PersonName")
		if gu.prefix != "" {
			w.text("NamePrefix", gu.prefix)
		}
		w.text("GivenName", gu.given)
		w.text("Surname", gu.surname)
		w.end("PersonName")
		if !minimal {
			g.writeContact(gu, i == 0, sh.verbose)
		}
		w.end("Customer")
		w.end("Profile")
		w.end("ProfileInfo")
		w.end("Profiles")
		w.end("ResGuest")
	}
	w.end("ResGuests")
}

func (g *Generator) writeContact(gu guest, primary, verbose bool) {
	w := &g.w
	w.empty("Telephone", "PhoneTechType", flag(verbose, "1"), "PhoneNumber", gu.phone)
	w.text("Email", gu.email, "EmailType", flag(verbose, "1"))
	if !primary {
		return
	}
	c := cities[gu.city]
	w.start("Address", "Type", flag(verbose, "1"))
	w.text("AddressLine", gu.street)
	w.text("CityName", c.name)
	if c.postal != "" {
		w.text("PostalCode", gu.postal)
	}
	if c.state != "" {
		w.empty("StateProv", "StateCode", c.state)
	}
	w.text("CountryName", c.countryName, "Code", c.country)
	w.end("Address")
	if gu.member != "" {
		w.empty("CustLoyalty", "ProgramID", gu.program, "MembershipID", gu.member, "LoyalLevel", []string{"Silver", "Gold", "Platinum"}[g.r.IntN(3)])
	}
}

func (g *Generator) writeGlobal(b *booking, h hotel, k kind, minimal bool, e *Expect) {
	w := &g.w
	c := cities[h.city]
	w.start("ResGlobalInfo")
	if !minimal {
		if b.comment >= 0 {
			w.start("Comments")
			w.start("Comment", "GuestViewable", "true")
			w.text("Text", specialRequests[b.comment].text)
			w.end("Comment")
			w.end("Comments")
		}
		if b.hasCard {
			g.writeCard(b)
			cd := b.card
			e.CardCode, e.CardLast4, e.CardExpire, e.CardUnmasked = cardBrands[cd.brand].code, cd.last4(), cd.expire, cd.unmasked
		}
	}
	w.empty("Total", "AmountBeforeTax", e.TotalBeforeTax, "AmountAfterTax", e.TotalAfterTax, "CurrencyCode", c.currency)
	w.start("HotelReservationIDs")
	w.empty("HotelReservationID", "ResID_Type", "14", "ResID_Value", b.conf)
	if !minimal {
		w.empty("HotelReservationID", "ResID_Type", "16", "ResID_Value", b.crsID, "ResID_Source", b.crsSource)
		if b.chanID != "" {
			w.empty("HotelReservationID", "ResID_Type", "13", "ResID_Value", b.chanID, "ResID_Source", channels[b.channel].idSource)
		}
	}
	if k == kindCancel {
		w.empty("HotelReservationID", "ResID_Type", "15", "ResID_Value", b.cancelNo)
	}
	w.end("HotelReservationIDs")
	w.end("ResGlobalInfo")
}

func (g *Generator) writeCard(b *booking) {
	w := &g.w
	cd := b.card
	p := b.guests[0]
	w.start("Guarantee", "GuaranteeCode", "CC", "GuaranteeType", "GuaranteeRequired")
	w.start("GuaranteesAccepted")
	w.start("GuaranteeAccepted")
	w.start("PaymentCard", "CardType", "1", "CardCode", cardBrands[cd.brand].code, "CardNumber", cd.number,
		"SeriesCode", cd.cvv, "ExpireDate", cd.expire)
	w.text("CardHolderName", p.given+" "+p.surname)
	w.end("PaymentCard")
	w.end("GuaranteeAccepted")
	w.end("GuaranteesAccepted")
	w.end("Guarantee")
}

// flag returns v when on, else "" (which leaves the attribute out).
func flag(on bool, v string) string {
	if on {
		return v
	}
	return ""
}

// stamp renders t as senders do: in UTC with Z, or in the hotel's local
// time with its offset; bare (no offset, read as UTC) only when allowBare.
func (g *Generator) stamp(t time.Time, zone *time.Location, allowBare bool) string {
	x := g.r.IntN(20)
	switch {
	case allowBare && x == 0:
		return t.UTC().Format("2006-01-02T15:04:05")
	case x < 10:
		return utc(t)
	}
	return t.In(zone).Format("2006-01-02T15:04:05-07:00")
}

// uuid draws a random (version 4) UUID from the generator's stream.
func (g *Generator) uuid() string {
	hi, lo := g.r.Uint64(), g.r.Uint64()
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(3<<62) | 1<<63
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

func utc(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func date(t time.Time) string { return t.Format("2006-01-02") }

// money renders non-negative cents as a decimal with two digits.
func money(cents int64) string {
	return strconv.FormatInt(cents/100, 10) + "." + twoDigits(int(cents%100))
}

// percentOf returns bp basis points of v, rounded half up.
func percentOf(v, bp int64) int64 { return (v*bp + 5000) / 10000 }
