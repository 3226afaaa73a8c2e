package parse_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/reservation"
)

const otaNS = "http://www.opentravel.org/OTA/2003/05"

// notif wraps reservation elements in a plain OTA_HotelResNotifRQ.
func notif(rootAttrs, body string) string {
	return `<?xml version="1.0"?><OTA_HotelResNotifRQ xmlns="` + otaNS + `" ` + rootAttrs +
		`><HotelReservations>` + body + `</HotelReservations></OTA_HotelResNotifRQ>`
}

// res builds a HotelReservation with a confirmation and a room stay.
func res(attrs, inner string) string {
	return `<HotelReservation ` + attrs + `><UniqueID Type="14" ID="C1"/>` + inner + `</HotelReservation>`
}

func stay(inner string) string {
	return `<RoomStays><RoomStay>` + inner + `<BasicPropertyInfo HotelCode="H1"/></RoomStay></RoomStays>`
}

func mustParse(t *testing.T, msg string) []reservation.Reservation {
	t.Helper()
	p, err := newParser(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := p.Parse([]byte(msg))
	if err != nil {
		t.Fatalf("rejected: %v\n%s", err, msg)
	}
	return recs
}

func one(t *testing.T, msg string) reservation.Reservation {
	t.Helper()
	recs := mustParse(t, msg)
	if len(recs) != 1 {
		t.Fatalf("got %d reservations, want 1", len(recs))
	}
	return recs[0]
}

func TestActionRule(t *testing.T) { eachEngine(t, testActionRule) }

func testActionRule(t *testing.T) {
	cases := []struct {
		name, msg, action, status string
	}{
		{"plain create", notif(``, res(``, ``)), "create", ""},
		{"root ResStatus Commit", notif(`ResStatus="Commit"`, res(``, ``)), "create", "Commit"},
		{"root ResStatus Cancel", notif(`ResStatus="Cancel"`, res(``, ``)), "cancel", "Cancel"},
		{"reservation Cancel", notif(``, res(`ResStatus="Cancel"`, ``)), "cancel", "Cancel"},
		{"reservation Cancelled wins over root Modify", notif(`ResStatus="Modify"`, res(`ResStatus="Cancelled"`, ``)), "cancel", "Cancelled"},
		{"reservation status wins for status field", notif(`ResStatus="Commit"`, res(`ResStatus="Reserved"`, ``)), "create", "Reserved"},
		{"only UniqueID has Type 15", notif(``, `<HotelReservation><UniqueID Type="15" ID="C9"/></HotelReservation>`), "cancel", ""},
		{"Type 15 beside Type 14 is not a cancel", notif(``, `<HotelReservation><UniqueID Type="14" ID="C9"/><UniqueID Type="15" ID="X"/></HotelReservation>`), "create", ""},
		{"root Modify", notif(`ResStatus="Modify"`, res(``, ``)), "modify", "Modify"},
		{"reservation Modify", notif(``, res(`ResStatus="Modify"`, ``)), "modify", "Modify"},
		{"ResModify message", `<OTA_HotelResModifyNotifRQ xmlns="` + otaNS + `"><HotelResModifies><HotelResModify><UniqueID Type="14" ID="C1"/></HotelResModify></HotelResModifies></OTA_HotelResModifyNotifRQ>`, "modify", ""},
		{"OTA_CancelRQ", `<OTA_CancelRQ xmlns="` + otaNS + `" CancelType="Cancel"><UniqueID Type="14" ID="C1"/></OTA_CancelRQ>`, "cancel", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := one(t, tc.msg)
			if r.Action != tc.action || r.Status != tc.status {
				t.Errorf("action, status = %q, %q; want %q, %q", r.Action, r.Status, tc.action, tc.status)
			}
		})
	}
}

func TestConfirmationPrecedence(t *testing.T) { eachEngine(t, testConfirmationPrecedence) }

func testConfirmationPrecedence(t *testing.T) {
	ids := func(s string) string {
		return `<HotelReservation>` + s + `</HotelReservation>`
	}
	hrid := func(typ, v string) string {
		return `<ResGlobalInfo><HotelReservationIDs><HotelReservationID ResID_Type="` + typ + `" ResID_Value="` + v + `"/></HotelReservationIDs></ResGlobalInfo>`
	}
	cases := []struct{ name, body, want string }{
		{"UniqueID Type 14 wins", ids(`<UniqueID Type="10" ID="A"/><UniqueID Type="14" ID="B"/>` + hrid("14", "C")), "B"},
		{"HotelReservationID 14 before first UniqueID", ids(`<UniqueID Type="10" ID="A"/>` + hrid("14", "C")), "C"},
		{"first UniqueID as last resort", ids(`<UniqueID Type="10" ID="A"/><UniqueID Type="16" ID="D"/>` + hrid("13", "C")), "A"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := one(t, notif(``, tc.body)).Confirmation; got != tc.want {
				t.Errorf("confirmation = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHotelCodeLocations(t *testing.T) { eachEngine(t, testHotelCodeLocations) }

func testHotelCodeLocations(t *testing.T) {
	cases := []struct{ name, inner, hotel, chain string }{
		{"room stay", `<RoomStays><RoomStay><BasicPropertyInfo HotelCode="RS1" ChainCode="CH"/></RoomStay></RoomStays>`, "RS1", "CH"},
		{"ResGlobalInfo", `<ResGlobalInfo><BasicPropertyInfo HotelCode="G1"/></ResGlobalInfo>`, "G1", ""},
		{"direct child", `<BasicPropertyInfo HotelCode="D1" ChainCode="X"/>`, "D1", "X"},
		{"first in document order", `<RoomStays><RoomStay><BasicPropertyInfo HotelCode="A1"/></RoomStay></RoomStays><ResGlobalInfo><BasicPropertyInfo HotelCode="B1"/></ResGlobalInfo>`, "A1", ""},
		{"chain code beside the hotel code", `<RoomStays><RoomStay><BasicPropertyInfo HotelName="no code" ChainCode="WRONG"/><BasicPropertyInfo HotelCode="E1" ChainCode="RIGHT"/></RoomStay></RoomStays>`, "E1", "RIGHT"},
		{"HotelReference fallback", `<RoomStays><RoomStay><HotelReference HotelCode="R1" ChainCode="BW"/></RoomStay></RoomStays>`, "R1", "BW"},
		{"none", ``, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := one(t, notif(``, res(``, tc.inner)))
			if r.HotelCode != tc.hotel || r.ChainCode != tc.chain {
				t.Errorf("hotel, chain = %q, %q; want %q, %q", r.HotelCode, r.ChainCode, tc.hotel, tc.chain)
			}
		})
	}
}

func TestGuestCounts(t *testing.T) { eachEngine(t, testGuestCounts) }

func testGuestCounts(t *testing.T) {
	cases := []struct {
		name, counts     string
		adults, children int
	}{
		{"code 10 is adult", `<GuestCount AgeQualifyingCode="10" Count="2"/>`, 2, 0},
		{"no code, no age is adult", `<GuestCount Count="3"/>`, 3, 0},
		{"age makes a child", `<GuestCount Count="1" Age="9"/>`, 0, 1},
		{"codes 8 and 7 are children", `<GuestCount AgeQualifyingCode="8" Count="1"/><GuestCount AgeQualifyingCode="7" Count="2"/>`, 0, 3},
		{"code 10 with age stays adult", `<GuestCount AgeQualifyingCode="10" Age="40" Count="1"/>`, 1, 0},
		{"other codes are neither", `<GuestCount AgeQualifyingCode="9" Count="5"/>`, 0, 0},
		{"mixed", `<GuestCount Count="2"/><GuestCount Count="1" Age="3"/><GuestCount AgeQualifyingCode="8" Count="1"/>`, 2, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := one(t, notif(``, res(``, stay(`<GuestCounts>`+tc.counts+`</GuestCounts>`))))
			if r.Adults != tc.adults || r.Children != tc.children {
				t.Errorf("adults, children = %d, %d; want %d, %d", r.Adults, r.Children, tc.adults, tc.children)
			}
			if r.RoomStays[0].Adults != tc.adults || r.RoomStays[0].Children != tc.children {
				t.Errorf("room stay counts = %d, %d", r.RoomStays[0].Adults, r.RoomStays[0].Children)
			}
		})
	}
	t.Run("sums over room stays", func(t *testing.T) {
		msg := notif(``, res(``, `<RoomStays><RoomStay><GuestCounts><GuestCount Count="2"/></GuestCounts></RoomStay>`+
			`<RoomStay><GuestCounts><GuestCount Count="1"/><GuestCount Count="1" Age="5"/></GuestCounts></RoomStay></RoomStays>`))
		r := one(t, msg)
		if r.Adults != 3 || r.Children != 1 {
			t.Errorf("adults, children = %d, %d; want 3, 1", r.Adults, r.Children)
		}
	})
}

func TestStayDates(t *testing.T) { eachEngine(t, testStayDates) }

func testStayDates(t *testing.T) {
	cases := []struct{ name, spans, arrival, departure string }{
		{"start and end", `<TimeSpan Start="2026-03-01" End="2026-03-04"/>`, "2026-03-01", "2026-03-04"},
		{"time part dropped", `<TimeSpan Start="2026-03-01T15:00:00+09:00" End="2026-03-04T11:00:00"/>`, "2026-03-01", "2026-03-04"},
		{"P4N nights", `<TimeSpan Start="2026-03-01" Duration="P4N"/>`, "2026-03-01", "2026-03-05"},
		{"P5D days", `<TimeSpan Start="2026-02-26" Duration="P5D"/>`, "2026-02-26", "2026-03-03"},
		{"P1W week", `<TimeSpan Start="2026-12-28" Duration="P1W"/>`, "2026-12-28", "2027-01-04"},
		{"end wins over duration", `<TimeSpan Start="2026-03-01" End="2026-03-02" Duration="P9N"/>`, "2026-03-01", "2026-03-02"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := one(t, notif(``, res(``, stay(tc.spans))))
			if r.Arrival != tc.arrival || r.Departure != tc.departure {
				t.Errorf("arrival, departure = %q, %q; want %q, %q", r.Arrival, r.Departure, tc.arrival, tc.departure)
			}
		})
	}
	t.Run("earliest start, latest end over stays", func(t *testing.T) {
		msg := notif(``, res(``, `<RoomStays><RoomStay><TimeSpan Start="2026-03-05" End="2026-03-07"/></RoomStay>`+
			`<RoomStay><TimeSpan Start="2026-03-03" End="2026-03-06"/></RoomStay></RoomStays>`))
		r := one(t, msg)
		if r.Arrival != "2026-03-03" || r.Departure != "2026-03-07" {
			t.Errorf("arrival, departure = %q, %q", r.Arrival, r.Departure)
		}
	})
}

func TestTimeNormalisation(t *testing.T) { eachEngine(t, testTimeNormalisation) }

func testTimeNormalisation(t *testing.T) {
	cases := []struct{ in, want string }{
		{"2012-03-09T21:31:52+02:00", "2012-03-09T19:31:52Z"},
		{"2012-03-09T21:31:52+0200", "2012-03-09T19:31:52Z"},
		{"2012-03-09T19:31:52Z", "2012-03-09T19:31:52Z"},
		{"2012-03-09T19:31:52", "2012-03-09T19:31:52Z"},
		{"2012-03-09 19:31:52", "2012-03-09T19:31:52Z"},
		{"2012-03-09 21:31:52+0200", "2012-03-09T19:31:52Z"},
		{"2012-03-09T19:31:52.000-00:00", "2012-03-09T19:31:52Z"},
		{"2012-03-09T19:31:52.250Z", "2012-03-09T19:31:52.25Z"},
		{"2012-03-09T02:31:52+07:00", "2012-03-08T19:31:52Z"},
		{"2012-03-09T19:31", "2012-03-09T19:31:00Z"},
		{"2012-03-09", "2012-03-09T00:00:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			r := one(t, notif(`TimeStamp="`+tc.in+`"`, res(`CreateDateTime="`+tc.in+`" LastModifyDateTime="`+tc.in+`"`, ``)))
			if r.MessageTime != tc.want || r.CreatedAt != tc.want || r.ModifiedAt != tc.want {
				t.Errorf("message_time, created_at, modified_at = %q, %q, %q; want %q", r.MessageTime, r.CreatedAt, r.ModifiedAt, tc.want)
			}
		})
	}
}

func TestSeveralReservations(t *testing.T) { eachEngine(t, testSeveralReservations) }

func testSeveralReservations(t *testing.T) {
	body := ""
	for i := 1; i <= 3; i++ {
		body += fmt.Sprintf(`<HotelReservation><UniqueID Type="14" ID="R%d"/><ResGlobalInfo><BasicPropertyInfo HotelCode="H%d"/></ResGlobalInfo></HotelReservation>`, i, i)
	}
	recs := mustParse(t, notif(`EchoToken="E1"`, body))
	if len(recs) != 3 {
		t.Fatalf("got %d reservations, want 3", len(recs))
	}
	for i, r := range recs {
		if r.Confirmation != fmt.Sprintf("R%d", i+1) || r.HotelCode != fmt.Sprintf("H%d", i+1) || r.MessageID != "E1" {
			t.Errorf("record %d = %s/%s (%s)", i, r.HotelCode, r.Confirmation, r.MessageID)
		}
	}
}

// envelope puts a message body in a SOAP envelope of the given version.
func envelope(soapNS, header, body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="` + soapNS +
		`" xmlns:wsa="http://www.w3.org/2005/08/addressing"><soap:Header>` + header +
		`</soap:Header><soap:Body>` + body + `</soap:Body></soap:Envelope>`
}

func TestPrefixesAndEnvelopes(t *testing.T) { eachEngine(t, testPrefixesAndEnvelopes) }

func testPrefixesAndEnvelopes(t *testing.T) {
	inner := `<UniqueID Type="14" ID="P1"/><RoomStays><RoomStay><TimeSpan Start="2026-05-01" End="2026-05-03"/><BasicPropertyInfo HotelCode="HP"/></RoomStay></RoomStays>`
	prefixed := `<ota:OTA_HotelResNotifRQ xmlns:ota="` + otaNS + `" EchoToken="echo"><ota:HotelReservations><ota:HotelReservation>` +
		strings.NewReplacer("<UniqueID", "<ota:UniqueID", "<Room", "<ota:Room", "</Room", "</ota:Room", "<TimeSpan", "<ota:TimeSpan", "<BasicPropertyInfo", "<ota:BasicPropertyInfo").Replace(inner) +
		`</ota:HotelReservation></ota:HotelReservations></ota:OTA_HotelResNotifRQ>`
	defaultNS := `<OTA_HotelResNotifRQ xmlns="` + otaNS + `" EchoToken="echo"><HotelReservations><HotelReservation>` + inner + `</HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`
	noNS := strings.Replace(defaultNS, ` xmlns="`+otaNS+`"`, "", 1)
	msgID := `<wsa:MessageID>urn:uuid:1234</wsa:MessageID>`
	cases := []struct{ name, msg, messageID string }{
		{"ota prefix", prefixed, "echo"},
		{"default namespace", defaultNS, "echo"},
		{"no namespace", noNS, "echo"},
		{"SOAP 1.1", envelope("http://schemas.xmlsoap.org/soap/envelope/", "", defaultNS), "echo"},
		{"SOAP 1.2 with WS-Addressing", envelope("http://www.w3.org/2003/05/soap-envelope", msgID, prefixed), "urn:uuid:1234"},
		{"SOAP 1.1 with WS-Addressing", envelope("http://schemas.xmlsoap.org/soap/envelope/", msgID, noNS), "urn:uuid:1234"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := one(t, tc.msg)
			if r.MessageType != "OTA_HotelResNotifRQ" || r.MessageID != tc.messageID || r.Confirmation != "P1" ||
				r.HotelCode != "HP" || r.Arrival != "2026-05-01" || r.Departure != "2026-05-03" {
				t.Errorf("got type=%q id=%q conf=%q hotel=%q %s..%s", r.MessageType, r.MessageID, r.Confirmation, r.HotelCode, r.Arrival, r.Departure)
			}
		})
	}
}

func TestTotalsAndPayment(t *testing.T) { eachEngine(t, testTotalsAndPayment) }

func testTotalsAndPayment(t *testing.T) {
	twoStays := `<RoomStays><RoomStay><Total AmountAfterTax="100.10" AmountBeforeTax="90" CurrencyCode="EUR"/></RoomStay>` +
		`<RoomStay><Total AmountAfterTax="50.5" AmountBeforeTax="45.25" CurrencyCode="EUR"/></RoomStay></RoomStays>`
	t.Run("sum over room stays without a global total", func(t *testing.T) {
		r := one(t, notif(``, res(``, twoStays)))
		if r.TotalAfterTax != "150.60" || r.TotalBeforeTax != "135.25" || r.Currency != "EUR" {
			t.Errorf("totals = %q %q %q", r.TotalAfterTax, r.TotalBeforeTax, r.Currency)
		}
	})
	t.Run("global total wins", func(t *testing.T) {
		r := one(t, notif(``, res(``, twoStays+`<ResGlobalInfo><Total AmountAfterTax="1.00" AmountBeforeTax="0.90" CurrencyCode="USD"/></ResGlobalInfo>`)))
		if r.TotalAfterTax != "1.00" || r.TotalBeforeTax != "0.90" || r.Currency != "USD" {
			t.Errorf("totals = %q %q %q", r.TotalAfterTax, r.TotalBeforeTax, r.Currency)
		}
	})
	cards := []struct{ name, card, last4 string }{
		{"attribute PAN", `<PaymentCard CardCode="VI" CardNumber="4111111111111111" SeriesCode="123" ExpireDate="1229"/>`, "1111"},
		{"PlainText PAN", `<PaymentCard CardCode="MC" ExpireDate="1229"><CardNumber><PlainText> 5555555555554444 </PlainText></CardNumber></PaymentCard>`, "4444"},
		{"mask", `<PaymentCard CardCode="AX"><CardNumber Mask="xxxxxxxxxxx0005"/></PaymentCard>`, "0005"},
		{"placeholder", `<PaymentCard CardCode="VI" CardNumber="N/A"/>`, ""},
	}
	for _, tc := range cards {
		t.Run(tc.name, func(t *testing.T) {
			r := one(t, notif(``, res(``, `<ResGlobalInfo><Guarantee><GuaranteesAccepted><GuaranteeAccepted>`+tc.card+`</GuaranteeAccepted></GuaranteesAccepted></Guarantee></ResGlobalInfo>`)))
			if r.Payment.Last4 != tc.last4 {
				t.Errorf("last4 = %q, want %q", r.Payment.Last4, tc.last4)
			}
		})
	}
}

func TestBadValuesAreRejected(t *testing.T) { eachEngine(t, testBadValuesAreRejected) }

func testBadValuesAreRejected(t *testing.T) {
	cases := []struct{ name, msg string }{
		{"bad created_at", notif(``, res(`CreateDateTime="yesterday"`, ``))},
		{"bad message time", notif(`TimeStamp="13/13/2012"`, res(``, ``))},
		{"bad amount", notif(``, res(``, `<ResGlobalInfo><Total AmountAfterTax="12,50"/></ResGlobalInfo>`))},
		{"bad duration", notif(``, res(``, stay(`<TimeSpan Start="2026-01-01" Duration="forever"/>`)))},
		{"bad count", notif(``, res(``, stay(`<GuestCounts><GuestCount Count="-1"/></GuestCounts>`)))},
	}
	p, _ := newParser(parse.Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Parse([]byte(tc.msg))
			if !errors.Is(err, parse.ErrBadValue) {
				t.Fatalf("err = %v, want ErrBadValue", err)
			}
		})
	}
}
