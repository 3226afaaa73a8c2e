package corpus_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"testing"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/parse"
)

// TestParserReadsIntent parses a generated corpus with the project's parser
// and checks that every record says what the generator meant. It guards
// both sides: a generator change the parser cannot read, and a parser
// change that misreads realistic traffic.
func TestParserReadsIntent(t *testing.T) {
	p, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := corpus.New(corpus.Options{Seed: 11})
	for range 2000 {
		m := g.Next()
		e := m.Expect
		t.Run(m.Name, func(t *testing.T) {
			recs, err := p.Parse(m.XML)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1", len(recs))
			}
			r := recs[0]
			guest := r.PrimaryGuest()
			fields := []struct{ name, got, want string }{
				{"hotel_code", r.HotelCode, e.HotelCode},
				{"confirmation", r.Confirmation, e.Confirmation},
				{"action", r.Action, e.Action},
				{"arrival", r.Arrival, e.Arrival},
				{"departure", r.Departure, e.Departure},
				{"surname", guest.Surname, e.Surname},
				{"given_name", guest.GivenName, e.GivenName},
				{"email", guest.Email, e.Email},
				{"message_type", r.MessageType, e.MessageType},
				{"message_id", r.MessageID, e.MessageID},
				{"message_time", r.MessageTime, e.MessageTime},
				{"status", r.Status, e.Status},
				{"chain_code", r.ChainCode, e.ChainCode},
				{"created_at", r.CreatedAt, e.CreatedAt},
				{"modified_at", r.ModifiedAt, e.ModifiedAt},
				{"room_stays", strconv.Itoa(len(r.RoomStays)), strconv.Itoa(e.RoomStays)},
				{"adults", strconv.Itoa(r.Adults), strconv.Itoa(e.Adults)},
				{"children", strconv.Itoa(r.Children), strconv.Itoa(e.Children)},
				{"currency", r.Currency, e.Currency},
				{"total_after_tax", cents(t, r.TotalAfterTax), cents(t, e.TotalAfterTax)},
				{"total_before_tax", cents(t, r.TotalBeforeTax), cents(t, e.TotalBeforeTax)},
				{"payment.card_code", r.Payment.CardCode, e.CardCode},
				{"payment.last4", r.Payment.Last4, e.CardLast4},
				{"payment.expire", r.Payment.Expire, e.CardExpire},
			}
			for _, f := range fields {
				if f.got != f.want {
					t.Errorf("%s = %q, generator intended %q", f.name, f.got, f.want)
				}
			}
			if err := r.Validate(); err != nil {
				t.Errorf("record does not validate: %v", err)
			}
			if e.CardUnmasked {
				// The record must not carry the full (test) card number.
				pan := panAttr.FindSubmatch(m.XML)
				js, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				if pan == nil || bytes.Contains(js, pan[1]) {
					t.Errorf("unmasked card number missing from the message or present in the record")
				}
			}
		})
	}
}

var panAttr = regexp.MustCompile(`CardNumber="([0-9]{13,19})"`)

// cents normalises a decimal string so that "12.5" and "12.50" compare equal.
func cents(t *testing.T, v string) string {
	t.Helper()
	if v == "" {
		return ""
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("amount %q: %v", v, err)
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}
