package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/reservation"
)

// Corpus is a folder of message files: generated messages (bench/corpus)
// with poison messages mixed in.
type Corpus struct {
	Dir    string
	Files  []string // every file, good and poison, in name (= production) order
	Good   []string // the generated messages, in order
	Poison []Poison // the poison messages, in order
	// Intent is what the generator meant each good file to carry (by path).
	Intent map[string]corpus.Expect
	// Cards are the full card numbers the corpus carries (the poison
	// messages' test cards and any unmasked CardNumber of a good message):
	// the values a redaction leak would show. Other Luhn-valid digit runs
	// (phones, loyalty numbers, message ids) are data, kept by redaction.
	Cards []string
}

// Poison is a message the pipeline must dead-letter.
type Poison struct {
	File string
	Kind string // PoisonMalformed, PoisonEntityBomb, ...
	// Reason is the start of the dead letter's reason: the parse error
	// class the parser returns for it (parse.ErrMalformed.Error(), ...).
	Reason string
}

// Kinds of poison messages, in the order WriteCorpus cycles through them.
const (
	PoisonMalformed      = "malformed XML"
	PoisonEntityBomb     = "entity bomb"
	PoisonNoConfirmation = "no confirmation"
	PoisonTruncated      = "truncated"
	PoisonNotXML         = "not XML"
)

var poisonKinds = []struct {
	kind   string
	reason error
}{
	{PoisonMalformed, parse.ErrMalformed},
	{PoisonEntityBomb, parse.ErrDTD},
	{PoisonNoConfirmation, parse.ErrNoConfirmation},
	{PoisonTruncated, parse.ErrTruncated},
	{PoisonNotXML, parse.ErrNotXML},
}

// testCards are well-known Luhn-valid test card numbers. Poison messages
// carry them in full so that the dead-letter checks can catch a leak.
var testCards = []string{"4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "4012888888881881"}

var (
	maskedCard = regexp.MustCompile(`CardNumber="[^"]*"`)
	idElements = regexp.MustCompile(`\s*<(?:UniqueID|HotelReservationID)\b[^>]*/>`)
)

// WriteCorpus writes n messages of the generated corpus for seed (default
// generator options) into dir, plus poison bad messages spread evenly
// among them; poison kinds cycle through malformed XML, an entity bomb
// (billion laughs), a reservation without confirmation number, a truncated
// message and text that is not XML. Poison messages carry a full test card
// number and CVV (the entity bomb none; the others when their good message
// has a payment card; the not-XML one always), to catch a redaction leak. A poison file sorts right after
// the good file it follows (msg-000123.xml, msg-000123-poison-2.xml).
//
// The harness checks that the parser rejects each poison message with its
// Reason class, so a parser change cannot silently turn a poison test into
// a good-message test.
func WriteCorpus(t testing.TB, dir string, n int, seed uint64, poison int) *Corpus {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := &Corpus{Dir: dir, Intent: make(map[string]corpus.Expect, n)}
	p, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := corpus.New(corpus.Options{Seed: seed})
	every := n/(poison+1) + 1
	for i := 1; i <= n; i++ {
		m := g.Next()
		name := filepath.Join(dir, m.Name)
		write(t, name, m.XML)
		c.Files = append(c.Files, name)
		c.Good = append(c.Good, name)
		c.Intent[name] = m.Expect
		if k := len(c.Poison); k < poison && (i%every == 0 || n-i < poison-k) {
			kind := poisonKinds[k%len(poisonKinds)]
			pname := fmt.Sprintf("%s-poison-%d.xml", name[:len(name)-len(".xml")], k)
			msg := poisonMessage(kind.kind, k, m.XML)
			write(t, pname, msg)
			if _, err := p.Parse(msg); err == nil || !bytes.HasPrefix([]byte(err.Error()), []byte(kind.reason.Error())) {
				t.Fatalf("harness: poison %q (%s) is not rejected as %q by the parser: %v", kind.kind, pname, kind.reason, err)
			}
			c.Files = append(c.Files, pname)
			c.Poison = append(c.Poison, Poison{File: pname, Kind: kind.kind, Reason: kind.reason.Error()})
		}
	}
	sort.Strings(c.Files) // already in order; sorting documents the contract
	c.Cards = corpusCards(t, c.Files)
	return c
}

// cardAttr is an unmasked card number in a message.
var cardAttr = regexp.MustCompile(`CardNumber="([0-9]{13,19})"`)

// corpusCards returns the full card numbers in files, with the poison
// messages' test cards and the generator's unmasked test cards.
func corpusCards(t testing.TB, files []string) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range append(append([]string(nil), testCards...), corpus.TestCardNumbers()...) {
		seen[c] = true
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range cardAttr.FindAllSubmatch(data, -1) {
			seen[string(m[1])] = true
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// CardIn returns the first of the corpus's full card numbers found in s,
// or "".
func (c *Corpus) CardIn(s string) string {
	for _, card := range c.Cards {
		if strings.Contains(s, card) {
			return card
		}
	}
	return ""
}

// poisonMessage builds poison number k of kind from a good message.
func poisonMessage(kind string, k int, good []byte) []byte {
	card := testCards[k%len(testCards)]
	withCard := maskedCard.ReplaceAll(good, []byte(`CardNumber="`+card+`" SeriesCode="737"`))
	switch kind {
	case PoisonMalformed:
		// An unclosed attribute quote deep inside the document.
		return bytes.Replace(withCard, []byte(`<ResGuests>`), []byte(`<ResGuests broken="oops>`), 1)
	case PoisonEntityBomb:
		return []byte(fmt.Sprintf(`<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="bomb-%d"><HotelReservations><HotelReservation><UniqueID Type="14" ID="&lol9;"/></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>
`, k))
	case PoisonNoConfirmation:
		return idElements.ReplaceAll(withCard, nil)
	case PoisonTruncated:
		end := bytes.Index(withCard, []byte(`</PaymentCard>`))
		if end < 0 { // no card in this message: cut it in the middle
			end = len(withCard) / 2
		}
		return withCard[:end]
	default: // PoisonNotXML
		return []byte(fmt.Sprintf(`{"poison": %d, "confirmation": "12345", "card": "%s", "cvv": "737"}`, k, card))
	}
}

func write(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Keys returns the reservations the good messages are about.
func (c *Corpus) Keys() map[reservation.Key]bool {
	keys := make(map[reservation.Key]bool)
	for _, e := range c.Intent {
		keys[reservation.Key{HotelCode: e.HotelCode, Confirmation: e.Confirmation}] = true
	}
	return keys
}
