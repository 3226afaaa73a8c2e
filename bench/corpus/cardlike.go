package corpus

import (
	"math/rand/v2"
	"strings"
)

// Identifiers in real traffic often look like card numbers: 13-19 digits
// that happen to pass the Luhn check. The corpus has many of them, so a
// redactor that masks by the Luhn check alone shows up as a changed record:
// phones in every common notation, loyalty numbers, channel reservation
// numbers and message ids with long digit runs.

// luhnDigits returns n random digits after prefix (prefix included) whose
// last digit makes the whole string pass the Luhn check.
func luhnDigits(r *rand.Rand, prefix string, n int) string {
	body := prefix + digits(r, n-len(prefix)-1)
	return body + string(byte('0'+luhnCheckDigit(body)))
}

// luhnCheckDigit is the digit that, appended to body, passes the Luhn check.
func luhnCheckDigit(body string) int {
	sum, double := 0, true
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return (10 - sum%10) % 10
}

// phoneNotations are the ways senders write a number: E.164, 00 prefix,
// dashes, spaces, dots, parentheses.
// Numbers are long enough (13 digits or more in all) to look like a card.
var phoneNotations = []string{"+c nnn nnnnnnnn", "+cnnnnnnnnnnnn", "00c-nnn-nnnnnnn", "00c nnn nnn nnnn",
	"+c.nnn.nnnn.nnnnn", "+c (nnn) nnnn-nnnnn", "(00c) nnnn-nnnnnn", "+c-nnnn-nnnnnnnn"}

// newPhone draws a phone number in country cc; half of them pass the Luhn
// check over all their digits (00 prefix included), as a card number would.
func newPhone(r *rand.Rand, cc string) string {
	notation := phoneNotations[r.IntN(len(phoneNotations))]
	national := strings.Count(notation, "n")
	prefix := cc
	if strings.Contains(notation, "00c") {
		prefix = "00" + cc
	}
	var all string
	if r.IntN(2) == 0 {
		all = luhnDigits(r, prefix, len(prefix)+national)
	} else {
		all = prefix + digits(r, national)
	}
	nat := all[len(prefix):]
	var b strings.Builder
	for i := 0; i < len(notation); i++ {
		switch notation[i] {
		case 'c':
			b.WriteString(cc)
		case 'n':
			b.WriteByte(nat[0])
			nat = nat[1:]
		default:
			b.WriteByte(notation[i])
		}
	}
	return b.String()
}

// newMemberNumber draws a loyalty number: 9 digits, or 13 or 16 digits
// passing the Luhn check (programs that issue card-like numbers).
func newMemberNumber(r *rand.Rand) string {
	switch r.IntN(3) {
	case 0:
		return luhnDigits(r, "6", 16)
	case 1:
		return luhnDigits(r, "", 13)
	}
	return digits(r, 9)
}

// newChannelID draws a channel's booking id: 10 digits, or 16 digits passing
// the Luhn check.
func newChannelID(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return luhnDigits(r, "4", 16)
	}
	return digits(r, 10)
}

// newMessageID draws a WS-Addressing message id: mostly a random UUID, else
// a UUID of decimal digits whose first three groups pass the Luhn check
// together, or a sender's numeric id with a 19-digit Luhn-valid run.
func (g *Generator) newMessageID() string {
	switch g.r.IntN(8) {
	case 0:
		d := luhnDigits(g.r, digits(g.r, 12)+"4", 16) // 8-4-4 groups; the version digit is 4
		return "urn:uuid:" + d[:8] + "-" + d[8:12] + "-" + d[12:16] + "-" + string(byte('8'+g.r.IntN(2))) + digits(g.r, 3) + "-" + digits(g.r, 12)
	case 1:
		return "urn:msg:" + luhnDigits(g.r, "", 19)
	}
	return "urn:uuid:" + g.uuid()
}

// TestCardNumbers returns the published test card numbers the generator uses
// for unmasked cards, so a test can check that none survives redaction.
func TestCardNumbers() []string {
	var pans []string
	for _, b := range cardBrands {
		pans = append(pans, b.testPANs...)
	}
	return pans
}
