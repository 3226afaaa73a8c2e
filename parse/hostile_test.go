package parse_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/redact"
)

const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05"><HotelReservations><HotelReservation><UniqueID Type="14" ID="&lol3;"/></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`

const externalEntity = `<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<OTA_HotelResNotifRQ><HotelReservations><HotelReservation><UniqueID Type="14" ID="&xxe;"/></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`

func TestHostileInput(t *testing.T) { eachEngine(t, testHostileInput) }

func testHostileInput(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join(samplesDir, "devlabs91__generic-ota-hotel-api-service__Reservation.xml"))
	if err != nil {
		t.Fatal(err)
	}
	deep := strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100)
	huge := notif(``, res(``, `<!--`+strings.Repeat("x", 2<<20)+`-->`))
	cases := []struct {
		name string
		msg  []byte
		want error
	}{
		{"empty", nil, parse.ErrNotXML},
		{"plain text", []byte("hello, this is not a reservation"), parse.ErrNotXML},
		{"JSON", []byte(`{"confirmation":"123"}`), parse.ErrNotXML},
		{"binary", []byte{0x00, 0x01, 0xff, 0xfe, 0x1f, 0x8b}, parse.ErrNotXML},
		{"truncated sample", sample[:len(sample)/2], parse.ErrTruncated},
		{"truncated inside a tag", sample[:len(sample)-5], parse.ErrTruncated},
		{"mismatched tags", []byte(`<OTA_HotelResNotifRQ><a></b></OTA_HotelResNotifRQ>`), parse.ErrMalformed},
		{"two roots", []byte(`<OTA_CancelRQ/><OTA_CancelRQ/>`), parse.ErrMalformed},
		{"billion laughs", []byte(billionLaughs), parse.ErrDTD},
		{"external entity", []byte(externalEntity), parse.ErrDTD},
		{"undeclared entity", []byte(notif(``, `<HotelReservation><UniqueID Type="14" ID="&xxe;"/></HotelReservation>`)), parse.ErrMalformed},
		{"too large", []byte(huge), parse.ErrTooLarge},
		{"too deep", []byte(`<OTA_HotelResNotifRQ>` + deep + `</OTA_HotelResNotifRQ>`), parse.ErrTooDeep},
		{"no confirmation", []byte(notif(``, `<HotelReservation><RoomStays/></HotelReservation>`)), parse.ErrNoConfirmation},
		{"one of two without confirmation", []byte(notif(``, res(``, ``)+`<HotelReservation/>`)), parse.ErrNoConfirmation},
		{"no reservation", []byte(notif(``, ``)), parse.ErrNoReservation},
		{"unknown message type", []byte(`<OTA_HotelAvailRQ xmlns="http://www.opentravel.org/OTA/2003/05"/>`), parse.ErrUnknownMessage},
		{"unknown root, no namespace", []byte(`<invoice><id>1</id></invoice>`), parse.ErrUnknownMessage},
		{"empty SOAP body", []byte(envelope("http://www.w3.org/2003/05/soap-envelope", "", "")), parse.ErrUnknownMessage},
	}
	p, err := newParser(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := p.Parse(tc.msg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if recs != nil {
				t.Errorf("a rejected message returned %d records", len(recs))
			}
			var pe *parse.Error
			if !errors.As(err, &pe) {
				t.Errorf("error is %T, want *parse.Error", err)
			}
			if strings.Contains(err.Error(), "/etc/passwd") || strings.Contains(err.Error(), "lol") {
				t.Errorf("error quotes message content: %v", err)
			}
		})
	}
}

func TestLimitsAreConfigurable(t *testing.T) { eachEngine(t, testLimitsAreConfigurable) }

func testLimitsAreConfigurable(t *testing.T) {
	msg := []byte(notif(``, res(``, stay(`<TimeSpan Start="2026-01-01" End="2026-01-02"/>`))))
	small, err := newParser(parse.Options{Limits: parse.Limits{MaxBytes: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := small.Parse(msg); !errors.Is(err, parse.ErrTooLarge) {
		t.Errorf("MaxBytes 100: err = %v, want ErrTooLarge", err)
	}
	shallow, _ := newParser(parse.Options{Limits: parse.Limits{MaxDepth: 3}})
	if _, err := shallow.Parse(msg); !errors.Is(err, parse.ErrTooDeep) {
		t.Errorf("MaxDepth 3: err = %v, want ErrTooDeep", err)
	}
}

// TestErrorsNeverCarryCardNumbers feeds broken messages that contain card
// numbers near the point of failure.
func TestErrorsNeverCarryCardNumbers(t *testing.T) { eachEngine(t, testErrorsNeverCarryCardNumbers) }

func testErrorsNeverCarryCardNumbers(t *testing.T) {
	pan := "4111111111111111"
	msgs := []string{
		`<OTA_HotelResNotifRQ><PaymentCard CardNumber="` + pan + `"></Oops></OTA_HotelResNotifRQ>`,
		`<OTA_HotelResNotifRQ><` + pan + `/></OTA_HotelResNotifRQ>`,
		`<OTA_HotelResNotifRQ><x a="1" a="` + pan + `"/></OTA_HotelResNotifRQ>`,
		`<OTA_HotelResNotifRQ>&` + pan + `;</OTA_HotelResNotifRQ>`,
		`<` + pan + `>`,
		notif(``, `<HotelReservation CreateDateTime="`+pan+`"><UniqueID Type="14" ID="1"/></HotelReservation>`),
	}
	p, _ := newParser(parse.Options{})
	for _, m := range msgs {
		_, err := p.Parse([]byte(m))
		if err == nil {
			t.Fatalf("accepted %q", m)
		}
		if strings.Contains(err.Error(), pan) || strings.Contains(err.Error(), pan[:13]) {
			t.Errorf("error text carries the card number: %v", err)
		}
	}
}

func TestRedact(t *testing.T) {
	msg := []byte(`<r xmlns:wsse="x"><wsse:Password Type="PasswordText">s3cret!</wsse:Password>` +
		`<PaymentCard CardNumber="4321432143214327" SeriesCode="123" CardCode="VI"><CardNumber><PlainText>4444333322221111
		</PlainText></CardNumber><SeriesCode><PlainText>999</PlainText></SeriesCode></PaymentCard>` +
		`<BankAcct BankAcctNumber='98765432109'/><Comment>call 4012888888881881 now; conf 1234567890123; card 5555 5555 5555 4444 or 3782-822463-10005</Comment></r>`)
	out := redact.Redact(msg)
	for _, secret := range []string{"s3cret!", "4321432143214327", "SeriesCode=\"123\"", "4444333322221111", "999", "98765432109", "4012888888881881", "5555 5555 5555", "3782-822463"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("redacted message still contains %q:\n%s", secret, out)
		}
	}
	for _, kept := range []string{"XXXXXXXXXXXX4327", "XXXXXXXXXXXX1111", "XXXXXXX2109", "XXXXXXXXXXXX1881", "conf 1234567890123", "XXXX XXXX XXXX 4444", "XXXX-XXXXXX-X0005", `CardCode="VI"`} {
		if !bytes.Contains(out, []byte(kept)) {
			t.Errorf("redacted message lacks %q:\n%s", kept, out)
		}
	}
}

// TestRedactedSamplesExtractTheSame checks that redaction keeps messages
// well-formed and their records unchanged.
func TestRedactedSamplesExtractTheSame(t *testing.T) {
	eachEngine(t, testRedactedSamplesExtractTheSame)
}

func testRedactedSamplesExtractTheSame(t *testing.T) {
	samples, _ := filepath.Glob(filepath.Join(samplesDir, "*.xml"))
	p, _ := newParser(parse.Options{})
	for _, s := range samples {
		msg, _ := os.ReadFile(s)
		want, err := p.Parse(msg)
		if err != nil {
			t.Fatal(err)
		}
		redacted := redact.Redact(msg)
		got, err := p.Parse(redacted)
		if err != nil {
			t.Fatalf("%s: redacted message rejected: %v", filepath.Base(s), err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d records after redaction, want %d", filepath.Base(s), len(got), len(want))
		}
		for i := range got {
			if got[i].Payment != want[i].Payment || got[i].Confirmation != want[i].Confirmation {
				t.Errorf("%s: record %d changed by redaction", filepath.Base(s), i)
			}
		}
		for _, pan := range cardNumbersIn(msg) {
			if luhnValid(pan) && bytes.Contains(redacted, pan) {
				t.Errorf("%s: redacted message still holds a card number", filepath.Base(s))
			}
		}
	}
}

func luhnValid(d []byte) bool {
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}
