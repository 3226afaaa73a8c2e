package corpus

import (
	"fmt"
	"math/rand/v2"
)

// hotel is one property of the group.
type hotel struct {
	code     string // "H00042"
	chain    int
	name     string
	city     int
	baseRate int64 // cents of local currency for the cheapest room, one night
}

// hotelSalt keeps the catalogue independent of the corpus seed: H00042 is
// the same property (city, chain, currency) in every corpus, which makes
// corpora of different seeds comparable.
const hotelSalt = 0x9e3779b97f4a7c15

// newHotels builds the catalogue of n properties, H00001..Hnnnnn.
func newHotels(n int) []hotel {
	hs := make([]hotel, n)
	for i := range hs {
		r := rand.New(rand.NewPCG(uint64(i+1), hotelSalt))
		ci := r.IntN(len(cities))
		c := cities[ci]
		w := hotelNameWords
		usd := int64(8900 + r.IntN(30000)) // 89.00 .. 389.00 USD
		hs[i] = hotel{
			code:     fmt.Sprintf("H%05d", i+1),
			chain:    r.IntN(len(chains)),
			name:     w[0][r.IntN(len(w[0]))] + " " + w[1][r.IntN(len(w[1]))] + " " + c.name,
			city:     ci,
			baseRate: usd * c.fxMilli / 1000,
		}
	}
	return hs
}
