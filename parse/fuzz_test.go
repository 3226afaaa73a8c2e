package parse_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/resingest/resingest/parse"
)

var (
	cardAttr = regexp.MustCompile(`(?i)CardNumber\s*=\s*("[^"]*"|'[^']*')`)
	cardText = regexp.MustCompile(`(?is)<(?:\w+:)?PlainText[^>]*>([^<]*)<`)
	digits13 = regexp.MustCompile(`\d{13,19}`)
)

// cardFieldNumbers returns the 13-19 digit numbers found in card fields of
// a message, and the message with those fields cut out.
func cardFieldNumbers(msg []byte) (pans [][]byte, rest []byte) {
	rest = msg
	for _, re := range []*regexp.Regexp{cardAttr, cardText} {
		for _, m := range re.FindAllSubmatch(rest, -1) {
			pans = append(pans, digits13.FindAll(m[1], -1)...)
		}
		rest = re.ReplaceAll(rest, nil)
	}
	return pans, rest
}

// FuzzParse asserts the parser never panics, never prints a card number
// taken from a card field, and never puts a long digit run in an error.
func FuzzParse(f *testing.F) {
	samples, _ := filepath.Glob(filepath.Join(samplesDir, "*.xml"))
	for _, s := range samples {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(billionLaughs))
	f.Add([]byte(externalEntity))
	f.Add([]byte(notif(``, res(``, `<ResGlobalInfo><Guarantee><PaymentCard CardNumber="4111111111111111" SeriesCode="737"/></Guarantee></ResGlobalInfo>`))))
	f.Add([]byte(envelope("http://www.w3.org/2003/05/soap-envelope", `<wsa:MessageID>m</wsa:MessageID>`, notif(`ResStatus="Cancel"`, res(``, stay(`<TimeSpan Start="2026-01-01" Duration="P2N"/>`))))))
	p, err := parse.New(parse.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		recs, err := p.Parse(msg)
		if err != nil {
			if recs != nil {
				t.Fatal("records returned with an error")
			}
			if digits13.MatchString(err.Error()) {
				t.Fatalf("error carries a long digit run: %v", err)
			}
			return
		}
		out, err := json.Marshal(recs)
		if err != nil {
			t.Fatal(err)
		}
		pans, rest := cardFieldNumbers(msg)
		for _, pan := range pans {
			// A number that also stands outside card fields (say, as a
			// confirmation) may legitimately be printed from there.
			if bytes.Contains(rest, pan) {
				continue
			}
			if bytes.Contains(out, pan) {
				t.Fatalf("output carries a card number: %s", out)
			}
		}
		for _, r := range recs {
			if r.Confirmation == "" {
				t.Fatal("record without confirmation accepted")
			}
			if r.RoomStays == nil || r.Guests == nil || r.ExternalIDs == nil {
				t.Fatal("nil slice in record")
			}
		}
	})
}
