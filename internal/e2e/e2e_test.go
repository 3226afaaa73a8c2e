package e2e

import (
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

// TestCorpusExpected checks the harness itself: poison messages are
// rejected as documented (WriteCorpus fails otherwise), and Expected
// agrees with the generator's intent.
func TestCorpusExpected(t *testing.T) {
	t.Parallel()
	c := WriteCorpus(t, t.TempDir(), 300, 11, 7)
	if len(c.Files) != 307 || len(c.Good) != 300 || len(c.Poison) != 7 {
		t.Fatalf("corpus has %d files, %d good, %d poison", len(c.Files), len(c.Good), len(c.Poison))
	}
	kinds := make(map[string]int)
	for _, p := range c.Poison {
		kinds[p.Kind]++
	}
	if len(kinds) != len(poisonKinds) {
		t.Errorf("poison kinds %v, want all %d", kinds, len(poisonKinds))
	}
	want := c.Expected(t)
	if len(want) == 0 || len(want) >= len(c.Good) {
		t.Errorf("%d reservations from %d messages: want some modified ones", len(want), len(c.Good))
	}
	if len(c.Keys()) != len(want) {
		t.Errorf("Keys: %d, Expected: %d", len(c.Keys()), len(want))
	}
}

func TestCardNumber(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		card bool
	}{
		{"4111111111111111", true},
		{"x 378282246310005 y", true},
		{"4111XXXXXXXX1111", false},
		{"1234567890123", false},                   // not Luhn-valid
		{"2026010506000200000000000000001", false}, // too long to be a card
		{"6149020091", false},
	} {
		if got := cardNumber(tc.in) != ""; got != tc.card {
			t.Errorf("cardNumber(%q) found a card: %v, want %v", tc.in, got, tc.card)
		}
	}
}
