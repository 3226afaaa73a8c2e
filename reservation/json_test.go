package reservation_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/reservation"
)

// reference is what resingest parse wrote before AppendJSON: encoding/json's
// Encoder with SetEscapeHTML(false), without the newline.
func reference(t *testing.T, r reservation.Reservation) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// checkSame compares AppendExtendedJSON with encoding/json, and AppendJSON
// with the same bytes without the extensions (the canonical record ends
// where `,"special_requests":` begins: a quote inside a value is escaped,
// so the key cannot occur earlier).
func checkSame(t *testing.T, name string, r reservation.Reservation) {
	t.Helper()
	want := reference(t, r)
	if got := r.AppendExtendedJSON(nil); !bytes.Equal(got, want) {
		t.Errorf("%s extended:\n got %s\nwant %s", name, got, want)
	}
	cut := bytes.Index(want, []byte(`,"special_requests":`))
	if cut < 0 {
		t.Fatalf("%s: no special_requests in %s", name, want)
	}
	canonical := append(want[:cut:cut], '}')
	if got := r.AppendJSON(nil); !bytes.Equal(got, canonical) {
		t.Errorf("%s:\n got %s\nwant %s", name, got, canonical)
	}
}

// allStrings fills every string field of a record with s.
func allStrings(s string) reservation.Reservation {
	return reservation.Reservation{
		MessageType: s, MessageID: s, MessageTime: s, Action: s, Status: s, Confirmation: s, HotelCode: s, ChainCode: s,
		CreatedAt: s, ModifiedAt: s, Arrival: s, Departure: s, Adults: -3, Children: 1 << 40,
		RoomStays:     []reservation.RoomStay{{s, s, 2, s, s, 1, 0, s, s, s}, {}},
		Guests:        []reservation.Guest{{true, s, s, s, s, s, s, s, s, s}, {}},
		TotalAfterTax: s, TotalBeforeTax: s, Currency: s,
		ExternalIDs:     []reservation.ExternalID{{s, s, s}},
		Payment:         reservation.Payment{CardCode: s, Last4: s, Expire: s},
		SpecialRequests: []reservation.SpecialRequest{{s, s, s}, {}},
	}
}

// TestAppendJSONMatchesEncodingJSON proves the hand-written encoder
// byte-identical to encoding/json on edge cases, random strings, the
// generated corpus and every public sample.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	var ascii []byte
	for c := 0; c < 0x80; c++ {
		ascii = append(ascii, byte(c))
	}
	edge := map[string]string{
		"empty":            "",
		"every ASCII byte": string(ascii),
		"html":             `<b>Tom & "Jerry"</b> \ /`,
		"unicode":          "Müller São Paulo 東京 İstanbul 🏨",
		"line separators":  "a\u2028b\u2029c",
		"invalid UTF-8":    "a\xffb\xc3(c\xe2\x80d\xed\xa0\x80",
		"controls":         "\x00\x01\b\f\n\r\t\x1f\x7f",
	}
	for name, s := range edge {
		t.Run(name, func(t *testing.T) { checkSame(t, name, allStrings(s)) })
	}
	t.Run("nil and empty slices", func(t *testing.T) {
		checkSame(t, "zero", reservation.Reservation{})
		r := reservation.Reservation{RoomStays: []reservation.RoomStay{}, Guests: []reservation.Guest{}, ExternalIDs: []reservation.ExternalID{}}
		checkSame(t, "empty", r)
		if got := string((&reservation.Reservation{}).AppendJSON(nil)); !bytes.Contains([]byte(got), []byte(`"room_stays":[]`)) {
			t.Errorf("nil slice not []: %s", got)
		}
		if got := string((&reservation.Reservation{}).AppendExtendedJSON(nil)); !bytes.HasSuffix([]byte(got), []byte(`"special_requests":[]}`)) {
			t.Errorf("nil special requests not []: %s", got)
		}
	})
	t.Run("random strings", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		alphabet := []string{"a", "Z", "0", " ", "\"", "\\", "<", "&", "\n", "\x00", "\x1f", "\x7f", "é", "€", "\u2028", "😀", "\xff", "\xe2\x82", "\xf0\x9f"}
		for i := 0; i < 5000; i++ {
			var s string
			for n := r.IntN(12); n > 0; n-- {
				s += alphabet[r.IntN(len(alphabet))]
			}
			checkSame(t, "random", allStrings(s))
		}
	})
	t.Run("corpus and samples", func(t *testing.T) {
		p, err := parse.New(parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var msgs [][]byte
		g := corpus.New(corpus.Options{Seed: 5})
		for i := 0; i < 3000; i++ {
			msgs = append(msgs, g.Next().XML)
		}
		samples, _ := filepath.Glob(filepath.Join("..", "..", "shared", "samples", "public", "*.xml"))
		if len(samples) == 0 {
			t.Fatal("no public samples")
		}
		for _, s := range samples {
			msg, err := os.ReadFile(s)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, msg)
		}
		n := 0
		for _, m := range msgs {
			recs, err := p.Parse(m)
			if err != nil {
				continue
			}
			for _, rec := range recs {
				checkSame(t, rec.Confirmation, rec)
				n++
			}
		}
		if n < 3000 {
			t.Errorf("only %d records compared", n)
		}
	})
}
