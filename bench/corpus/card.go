package corpus

import "math/rand/v2"

// cardBrand is a payment card scheme with the well-known test numbers that
// stand in for the rare unmasked card in real traffic. Only published test
// numbers are used, so an unmasked number in the corpus is never a real card.
type cardBrand struct {
	code     string // OTA CardCode
	length   int    // digits in a number of this brand
	cvvLen   int
	weight   int // relative frequency
	testPANs []string
}

var cardBrands = []cardBrand{
	{"VI", 16, 3, 45, []string{"4111111111111111", "4012888888881881", "4242424242424242", "4000056655665556"}},
	{"MC", 16, 3, 30, []string{"5555555555554444", "5105105105105100", "2223003122003222", "5200828282828210"}},
	{"AX", 15, 4, 15, []string{"378282246310005", "371449635398431", "378734493671000"}},
	{"DS", 16, 3, 5, []string{"6011111111111117", "6011000990139424"}},
	{"JC", 16, 3, 5, []string{"3530111333300000", "3566002020360505"}},
}

// card is the payment card of one reservation.
type card struct {
	brand    int
	number   string // full number when unmasked, else the mask
	unmasked bool
	cvv      string // only with an unmasked number, as in real leaks
	expire   string // MMYY
}

// last4 is what a parser keeps of the card.
func (c card) last4() string { return c.number[len(c.number)-4:] }

// newCard draws a card; unmasked is the probability of a full test number.
func newCard(r *rand.Rand, unmasked float64) card {
	pick := r.IntN(100)
	bi := 0
	for i, b := range cardBrands {
		if pick < b.weight {
			bi = i
			break
		}
		pick -= b.weight
	}
	b := cardBrands[bi]
	c := card{
		brand:  bi,
		expire: twoDigits(1+r.IntN(12)) + twoDigits(27+r.IntN(5)),
	}
	if r.Float64() < unmasked {
		c.unmasked = true
		c.number = b.testPANs[r.IntN(len(b.testPANs))]
		c.cvv = digits(r, b.cvvLen)
		return c
	}
	last := digits(r, 4)
	switch r.IntN(4) {
	case 0:
		c.number = repeat('X', b.length-4) + last
	case 1:
		c.number = repeat('*', b.length-4) + last
	case 2: // BIN kept visible, as some gateways do
		c.number = b.testPANs[0][:4] + repeat('X', b.length-8) + last
	default:
		c.number = repeat('x', b.length-4) + last
	}
	return c
}

// luhnValid reports whether s is a digit string with a valid Luhn check digit.
func luhnValid(s string) bool {
	if len(s) < 2 {
		return false
	}
	sum := 0
	double := false
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func repeat(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

// digits returns n random decimal digits.
func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10%10), byte('0' + n%10)}) }
