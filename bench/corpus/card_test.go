package corpus

import (
	"regexp"
	"testing"
)

func TestLuhn(t *testing.T) {
	tests := []struct {
		number string
		valid  bool
	}{
		{"4111111111111111", true},
		{"378282246310005", true},
		{"4111111111111112", false},
		{"xxxxxxxxxxxx1111", false},
		{"", false},
	}
	for _, b := range cardBrands {
		for _, pan := range b.testPANs {
			tests = append(tests, struct {
				number string
				valid  bool
			}{pan, true})
		}
	}
	for _, tc := range tests {
		t.Run(tc.number, func(t *testing.T) {
			if got := luhnValid(tc.number); got != tc.valid {
				t.Errorf("luhnValid(%q) = %v, want %v", tc.number, got, tc.valid)
			}
		})
	}
}

func TestCards(t *testing.T) {
	masked := regexp.MustCompile(`^[0-9]{0,4}[xX*]{7,12}[0-9]{4}$`)
	var cards, unmasked int
	for _, m := range corpusOf(1, 5000) {
		e := m.Expect
		s := readBack(t, m.XML)
		if len(s.cardNumbers) == 0 {
			if e.CardCode != "" {
				t.Errorf("%s: expect card %s but the message has none", m.Name, e.CardCode)
			}
			continue
		}
		cards++
		number, cvv := s.cardNumbers[0], s.seriesCodes[0]
		if number[len(number)-4:] != e.CardLast4 || !regexp.MustCompile(`^(0[1-9]|1[0-2])[0-9]{2}$`).MatchString(e.CardExpire) {
			t.Errorf("%s: card ends %q, expect last4 %q, expire %q", m.Name, number[len(number)-4:], e.CardLast4, e.CardExpire)
		}
		if e.CardUnmasked {
			unmasked++
			if !luhnValid(number) || !regexp.MustCompile(`^[0-9]{3,4}$`).MatchString(cvv) {
				t.Errorf("%s: unmasked card is not a Luhn-valid number with a CVV", m.Name)
			}
			continue
		}
		if !masked.MatchString(number) || cvv != "" {
			t.Errorf("%s: masked card %q with SeriesCode %q", m.Name, number, cvv)
		}
	}
	if cards < 4000 {
		t.Fatalf("only %d of 5000 messages carry a card", cards)
	}
	if pct := unmasked * 100 / cards; pct < 2 || pct > 9 {
		t.Errorf("%d%% of cards unmasked, want about 5%%", pct)
	}
}
