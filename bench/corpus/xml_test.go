package corpus

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// seen is what the tests read back from a message's XML with encoding/xml,
// independently of the generator's own bookkeeping (Expect).
type seen struct {
	envelopeNS   string
	messageID    string
	rootName     string
	rootNS       string
	rootStatus   string
	timeStamp    string
	resStatus    string
	createTime   string
	modifyTime   string
	confirmation string
	hotels       []string
	starts       []string
	ends         []string
	durations    []string
	surname      string
	email        string
	cardNumbers  []string
	seriesCodes  []string
	amounts      []string
	currencies   []string
}

// readBack decodes every token of doc (so it also proves well-formedness)
// and collects the parts the tests check.
func readBack(t *testing.T, doc []byte) seen {
	t.Helper()
	var s seen
	d := xml.NewDecoder(strings.NewReader(string(doc)))
	var path []string
	var text strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			path = append(path, el.Name.Local)
			text.Reset()
			s.start(el, path)
		case xml.CharData:
			text.Write(el)
		case xml.EndElement:
			switch el.Name.Local {
			case "MessageID":
				s.messageID = text.String()
			case "Surname":
				if s.surname == "" {
					s.surname = text.String()
				}
			case "Email":
				if s.email == "" {
					s.email = text.String()
				}
			}
			path = path[:len(path)-1]
		}
	}
	if len(path) != 0 {
		t.Fatalf("unclosed elements %v", path)
	}
	return s
}

func (s *seen) start(el xml.StartElement, path []string) {
	a := func(name string) string {
		for _, at := range el.Attr {
			if at.Name.Local == name {
				return at.Value
			}
		}
		return ""
	}
	switch n := el.Name.Local; {
	case len(path) == 1:
		s.envelopeNS = el.Name.Space
	case len(path) == 3 && path[1] == "Body":
		s.rootName, s.rootNS = n, el.Name.Space
		s.timeStamp, s.rootStatus = a("TimeStamp"), a("ResStatus")
	case n == "HotelReservation" || n == "HotelResModify":
		s.createTime, s.modifyTime, s.resStatus = a("CreateDateTime"), a("LastModifyDateTime"), a("ResStatus")
	case n == "UniqueID" && a("Type") == "14":
		s.confirmation = a("ID")
	case n == "BasicPropertyInfo":
		s.hotels = append(s.hotels, a("HotelCode"))
	case n == "TimeSpan":
		s.starts, s.ends, s.durations = append(s.starts, a("Start")), append(s.ends, a("End")), append(s.durations, a("Duration"))
	case n == "PaymentCard":
		s.cardNumbers, s.seriesCodes = append(s.cardNumbers, a("CardNumber")), append(s.seriesCodes, a("SeriesCode"))
	}
	for _, name := range []string{"AmountBeforeTax", "AmountAfterTax"} {
		if v := a(name); v != "" {
			s.amounts = append(s.amounts, v)
		}
	}
	if v := a("CurrencyCode"); v != "" {
		s.currencies = append(s.currencies, v)
	}
}

// parseStamp reads the time formats the generator writes.
func parseStamp(t *testing.T, v string) time.Time {
	t.Helper()
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05"} {
		if tm, err := time.Parse(layout, v); err == nil {
			return tm
		}
	}
	t.Fatalf("unparsable time %q", v)
	return time.Time{}
}
