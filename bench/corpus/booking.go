package corpus

import (
	"strconv"
	"strings"
	"time"
)

// booking is the generator's state of one reservation across its versions.
type booking struct {
	conf      string
	crsID     string
	crsSource string
	chanID    string // the channel's own booking id; "" for direct channels
	channel   int
	hotel     int
	created   time.Time // CreateDateTime
	updated   time.Time // CreateDateTime or the latest LastModifyDateTime
	version   int
	guests    []guest // [0] is the primary guest
	stays     []stay
	card      card
	hasCard   bool
	comment   int    // index into specialRequests used as a global comment; -1 for none
	cancelNo  string // set on cancellation
}

type guest struct {
	prefix, given, surname string
	email, phone           string
	city                   int
	street                 string
	postal                 string
	program, member        string // loyalty; "" when not a member
	profileID              string
}

type stay struct {
	room, plan int
	units      int
	start      time.Time // arrival date, midnight UTC
	nights     int
	adults     int
	childAges  []int
	ages       bool // GuestCount per child with @Age, else one count with code 8
	duration   bool // TimeSpan as Start + Duration
	requests   []int
}

func (s stay) end() time.Time { return s.start.AddDate(0, 0, s.nights) }

func (g *Generator) pickHotel() int {
	n := len(g.hotels)
	// Flagships (the first tenth of the codes) take a third of the traffic;
	// the rest spreads evenly, so every corpus touches many properties.
	if g.r.IntN(3) == 0 && n >= 10 {
		return g.r.IntN(n / 10)
	}
	return g.r.IntN(n)
}

func (g *Generator) newBooking() *booking {
	g.creates++
	hi := g.pickHotel()
	h := g.hotels[hi]
	b := &booking{
		conf:      strconv.FormatUint(1_000_000_000+(g.confMul*g.creates+g.confAdd)%confSpace, 10),
		crsID:     base32ID(g, 10),
		crsSource: crsSources[g.r.IntN(len(crsSources))],
		channel:   g.r.IntN(len(channels)),
		hotel:     hi,
		version:   1,
		comment:   -1,
	}
	if channels[b.channel].idSource != "" {
		b.chanID = newChannelID(g.r)
	}
	b.created = g.eventTime(time.Time{})
	b.updated = b.created
	b.guests = append(b.guests, g.newGuest(h, true))
	if g.r.IntN(5) == 0 {
		b.guests = append(b.guests, g.newGuest(h, false))
	}
	// Lead time: a fifth book for the next days, most within two months.
	var lead int
	switch x := g.r.IntN(10); {
	case x < 2:
		lead = g.r.IntN(4)
	case x < 8:
		lead = 4 + g.r.IntN(57)
	default:
		lead = 61 + g.r.IntN(270)
	}
	local := b.created.In(g.zones[h.city])
	arrival := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, lead)
	nights := []int{1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 7, 10, 14}[g.r.IntN(13)]
	rooms := 1
	if x := g.r.IntN(100); x >= 97 {
		rooms = 3
	} else if x >= 85 {
		rooms = 2
	}
	for i := 0; i < rooms; i++ {
		s := g.newStay(arrival, nights)
		if i > 0 && g.r.IntN(6) == 0 { // a second room joining a night later
			s.start = s.start.AddDate(0, 0, 1)
			s.nights = max(1, s.nights-1)
		}
		b.stays = append(b.stays, s)
	}
	if g.r.IntN(10) < 9 {
		b.hasCard = true
		b.card = newCard(g.r, g.opts.UnmaskedRatio)
	}
	if g.r.IntN(7) == 0 {
		b.comment = g.r.IntN(len(specialRequests))
	}
	return b
}

func (g *Generator) newStay(arrival time.Time, nights int) stay {
	s := stay{
		room:     g.r.IntN(len(roomTypes)),
		plan:     g.r.IntN(len(ratePlans)),
		units:    1,
		start:    arrival,
		nights:   nights,
		adults:   []int{1, 1, 2, 2, 2, 2, 3}[g.r.IntN(7)],
		ages:     g.r.IntN(2) == 0,
		duration: g.r.IntN(10) == 0,
	}
	if g.r.IntN(12) == 0 {
		s.units = 2
	}
	if g.r.IntN(4) == 0 {
		for n := 1 + g.r.IntN(2); n > 0; n-- {
			s.childAges = append(s.childAges, 1+g.r.IntN(16))
		}
	}
	if g.r.IntN(3) == 0 {
		s.requests = append(s.requests, g.r.IntN(len(specialRequests)))
	}
	return s
}

func (g *Generator) newGuest(h hotel, primary bool) guest {
	g.guests++
	ci := g.r.IntN(len(cities))
	if g.r.IntN(3) == 0 { // many guests travel within their own country
		ci = h.city
	}
	c := cities[ci]
	gu := guest{
		prefix:  prefixes[g.r.IntN(len(prefixes))],
		given:   givenNames[g.r.IntN(len(givenNames))],
		surname: surnames[g.r.IntN(len(surnames))],
		city:    ci,
		street:  strconv.Itoa(1+g.r.IntN(240)) + " " + c.streets[g.r.IntN(2)],
		postal:  fillPattern(g, c.postal),
	}
	// The guest counter makes the address unique; it stays with the guest
	// on every later version of the reservation.
	n := strconv.FormatUint(g.guests, 10)
	given, sur := asciiFold(gu.given), asciiFold(gu.surname)
	dom := emailDomains[g.r.IntN(len(emailDomains))]
	switch g.r.IntN(3) {
	case 0:
		gu.email = given + "." + sur + n + "@" + dom
	case 1:
		gu.email = given[:1] + sur + n + "@" + dom
	default:
		gu.email = sur + "_" + given + n + "@" + dom
	}
	gu.phone = newPhone(g.r, c.phoneCC)
	if primary && g.r.IntN(100) < 35 {
		gu.program = chains[h.chain].program
		gu.member = newMemberNumber(g.r)
		gu.profileID = base32ID(g, 8)
	}
	return gu
}

// change applies one or two edits a guest or agent typically makes.
func (g *Generator) change(b *booking) {
	for n := 1 + g.r.IntN(2); n > 0; n-- {
		switch g.r.IntN(7) {
		case 0: // move the stay
			d := 1 + g.r.IntN(7)
			// Earlier only while the stay stays in the future.
			if g.r.IntN(2) == 0 && b.stays[0].start.AddDate(0, 0, -d).After(b.updated.AddDate(0, 0, 1)) {
				d = -d
			}
			for i := range b.stays {
				b.stays[i].start = b.stays[i].start.AddDate(0, 0, d)
			}
		case 1: // longer or shorter
			for i := range b.stays {
				b.stays[i].nights = max(1, b.stays[i].nights+g.r.IntN(5)-2)
			}
		case 2: // another room type
			s := &b.stays[g.r.IntN(len(b.stays))]
			s.room = g.r.IntN(len(roomTypes))
		case 3: // another rate plan
			s := &b.stays[g.r.IntN(len(b.stays))]
			s.plan = g.r.IntN(len(ratePlans))
		case 4: // party size
			s := &b.stays[g.r.IntN(len(b.stays))]
			s.adults = 1 + g.r.IntN(3)
		case 5: // add or drop a room
			if len(b.stays) < 3 && (len(b.stays) == 1 || g.r.IntN(2) == 0) {
				first := b.stays[0]
				b.stays = append(b.stays, g.newStay(first.start, first.nights))
			} else {
				b.stays = b.stays[:len(b.stays)-1]
			}
		default: // a new card or a special request
			if g.r.IntN(2) == 0 {
				b.hasCard = true
				b.card = newCard(g.r, g.opts.UnmaskedRatio)
			} else {
				s := &b.stays[g.r.IntN(len(b.stays))]
				s.requests = append(s.requests[:len(s.requests):len(s.requests)], g.r.IntN(len(specialRequests)))
			}
		}
	}
}

// base32ID draws an upper-case alphanumeric id without look-alike letters.
func base32ID(g *Generator, n int) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.r.IntN(len(alphabet))]
	}
	return string(b)
}

// fillPattern replaces '#' by a digit and '@' by a letter.
func fillPattern(g *Generator, p string) string {
	b := []byte(p)
	for i, c := range b {
		switch c {
		case '#':
			b[i] = byte('0' + g.r.IntN(10))
		case '@':
			b[i] = byte('A' + g.r.IntN(26))
		}
	}
	return string(b)
}

// asciiFold turns a name into the lower-case ASCII an e-mail local part
// would use: Müller -> mueller, José -> jose, O'Brien -> obrien.
func asciiFold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
			continue
		}
		b.WriteString(foldMap[r]) // "" drops spaces, apostrophes, marks
	}
	return b.String()
}

// foldMap spells accented letters in ASCII. Only looked up, never iterated.
var foldMap = map[rune]string{
	'ü': "ue", 'ö': "oe", 'ä': "ae", 'ß': "ss", 'æ': "ae",
	'á': "a", 'à': "a", 'â': "a", 'ã': "a", 'å': "a",
	'é': "e", 'è': "e", 'ê': "e", 'ë': "e",
	'í': "i", 'ì': "i", 'î': "i", 'ï': "i", 'ı': "i",
	'ó': "o", 'ò': "o", 'ô': "o", 'õ': "o", 'ø': "o", 'ő': "o",
	'ú': "u", 'ù': "u", 'û': "u",
	'ç': "c", 'č': "c", 'ć': "c", 'ñ': "n", 'ń': "n", 'ł': "l",
	'š': "s", 'ş': "s", 'ś': "s", 'ž': "z", 'ğ': "g", 'ý': "y",
}
