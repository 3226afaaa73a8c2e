package corpus

import (
	"regexp"
	"strings"
	"testing"
)

// digitsOf keeps the digits of s.
func digitsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// TestCardLikeIdentifiers checks that the corpus carries identifiers a
// Luhn-only redactor would mistake for card numbers: phones in every
// notation, loyalty numbers, channel reservation numbers and message ids.
func TestCardLikeIdentifiers(t *testing.T) {
	msgs := corpusOf(3, 5000)
	attr := func(name string) *regexp.Regexp { return regexp.MustCompile(` ` + name + `="([^"]*)"`) }
	cardLike := func(s string) bool { d := digitsOf(s); return len(d) >= 13 && len(d) <= 19 && luhnValid(d) }

	notations := make([]*regexp.Regexp, len(phoneNotations))
	for i, n := range phoneNotations {
		re := regexp.QuoteMeta(n)
		re = strings.ReplaceAll(re, "c", "[0-9]{1,3}")
		re = strings.ReplaceAll(re, "n", "[0-9]")
		notations[i] = regexp.MustCompile("^" + re + "$")
	}
	perNotation := make([]int, len(phoneNotations))
	counts := map[string]int{}
	for _, m := range msgs {
		x := string(m.XML)
		for _, p := range attr("PhoneNumber").FindAllStringSubmatch(x, -1) {
			matched := false
			for i, re := range notations {
				if re.MatchString(p[1]) {
					matched = true
					if cardLike(p[1]) {
						perNotation[i]++
					}
				}
			}
			if !matched {
				t.Errorf("phone %q in no known notation", p[1])
			}
		}
		for _, v := range attr("MembershipID").FindAllStringSubmatch(x, -1) {
			if cardLike(v[1]) {
				counts["loyalty"]++
			}
		}
		for _, v := range attr("ResID_Value").FindAllStringSubmatch(x, -1) {
			if cardLike(v[1]) {
				counts["reservation"]++
			}
		}
		id := m.Expect.MessageID
		for _, run := range regexp.MustCompile(`[0-9]+(-[0-9]+)*`).FindAllString(id, -1) {
			if d := digitsOf(run); len(d) >= 16 && luhnValid(d[:16]) || len(d) == 19 && luhnValid(d) {
				counts["message id"]++
			}
		}
	}
	for i, n := range perNotation {
		if n == 0 {
			t.Errorf("no card-like phone written as %q", phoneNotations[i])
		}
	}
	for _, k := range []string{"loyalty", "reservation", "message id"} {
		if counts[k] < 50 {
			t.Errorf("%d card-like %s numbers in %d messages, want many", counts[k], k, len(msgs))
		}
	}
	t.Logf("card-like phones per notation %v, others %v", perNotation, counts)
}
