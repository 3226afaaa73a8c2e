package corpus

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Defaults used when an Options field is left zero.
const (
	DefaultHotels        = 7500
	DefaultModifyRatio   = 0.10
	DefaultCancelRatio   = 0.03
	DefaultUnmaskedRatio = 0.05
)

// DefaultStart is the simulated clock's start (the first message is a few
// seconds later). Fixed, so a corpus never depends on when it was made.
var DefaultStart = time.Date(2026, time.January, 5, 6, 0, 0, 0, time.UTC)

// maxPool bounds how many open reservations the generator remembers as
// targets for later modifications and cancellations, so memory stays flat
// however many messages a benchmark asks for.
const maxPool = 50_000

// Options configure a Generator. The zero value gives the documented
// defaults; a ratio can be turned off with a negative value.
type Options struct {
	// Seed selects the corpus: the same seed gives byte-identical messages.
	// 0 is a seed like any other.
	Seed uint64
	// Hotels is how many properties the messages spread over (default 7,500;
	// codes H00001 upwards).
	Hotels int
	// ModifyRatio is the share of messages that modify an earlier
	// reservation (default 0.10).
	ModifyRatio float64
	// CancelRatio is the share of messages that cancel an earlier
	// reservation (default 0.03).
	CancelRatio float64
	// UnmaskedRatio is the share of payment cards sent with the full (test)
	// number and a CVV (default 0.05).
	UnmaskedRatio float64
	// Start is the simulated clock's start (default DefaultStart).
	Start time.Time
}

func (o Options) withDefaults() Options {
	if o.Hotels <= 0 {
		o.Hotels = DefaultHotels
	}
	o.ModifyRatio = ratio(o.ModifyRatio, DefaultModifyRatio)
	o.CancelRatio = ratio(o.CancelRatio, DefaultCancelRatio)
	o.UnmaskedRatio = ratio(o.UnmaskedRatio, DefaultUnmaskedRatio)
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	return o
}

func ratio(v, def float64) float64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// Message is one generated HTNG message.
type Message struct {
	// Name is the file name WriteDir uses: msg-000001.xml for the first.
	Name string
	// Key is the confirmation number; producers partition by it so that the
	// versions of one reservation stay in order.
	Key string
	// Hotel is the property's code, e.g. H00042.
	Hotel string
	// XML is the whole document (SOAP envelope included), UTF-8.
	XML []byte
	// Expect is what the generator put into the message for a parser to find.
	Expect Expect
}

// Expect is the generator's intent for one message, in the canonical
// record's terms (see reservation.Reservation and DESIGN.md): times are RFC
// 3339 UTC with a Z, dates YYYY-MM-DD, amounts decimal strings.
//
// It never holds a full card number or CVV; CardUnmasked says whether the
// message carries one.
type Expect struct {
	MessageType    string
	MessageID      string
	MessageTime    string
	Action         string // reservation.ActionCreate, ActionModify or ActionCancel
	Status         string
	Confirmation   string
	HotelCode      string
	ChainCode      string
	CreatedAt      string
	ModifiedAt     string // "" on a create
	Arrival        string
	Departure      string
	RoomStays      int
	Adults         int
	Children       int
	GivenName      string // primary guest
	Surname        string // primary guest
	Email          string // primary guest; "" when the message carries none
	Currency       string
	TotalBeforeTax string
	TotalAfterTax  string
	CardCode       string // "" when the message carries no card
	CardLast4      string
	CardExpire     string
	CardUnmasked   bool
	// Version counts the messages about this reservation: 1 for the
	// confirmation, 2 for the first modification, and so on.
	Version int
}

// Generator produces the messages of one corpus, in order.
//
// A Generator is not safe for concurrent use: the order of calls to Next is
// what makes the corpus deterministic.
type Generator struct {
	opts    Options
	r       *rand.Rand
	hotels  []hotel
	zones   []*time.Location // per city
	now     time.Time        // TimeStamp of the last message
	seq     int
	bytes   int64
	creates uint64
	guests  uint64
	confMul uint64
	confAdd uint64
	pool    []*booking
	w       xmlWriter
}

// New returns a generator for opts (see Options for the defaults).
func New(opts Options) *Generator {
	opts = opts.withDefaults()
	g := &Generator{
		opts:   opts,
		r:      rand.New(rand.NewPCG(opts.Seed, opts.Seed^0xda3e39cb94b95bdb)),
		hotels: newHotels(opts.Hotels),
		zones:  make([]*time.Location, len(cities)),
		now:    opts.Start,
	}
	for i, c := range cities {
		g.zones[i] = time.FixedZone(c.country, c.offsetMin*60)
	}
	// Confirmation numbers are an affine bijection of the create counter
	// modulo confSpace, so they look random yet never repeat in a corpus.
	g.confMul = coprimeMultiplier(g.r)
	g.confAdd = g.r.Uint64N(confSpace)
	return g
}

// confSpace is the count of 10-digit confirmation numbers (1000000000 ..
// 9999999999).
const confSpace = 9_000_000_000

// coprimeMultiplier draws a multiplier coprime to confSpace (2^9*3^2*5^9).
func coprimeMultiplier(r *rand.Rand) uint64 {
	for {
		m := 1_000_003 + r.Uint64N(1_000_000_000)
		if m%2 != 0 && m%3 != 0 && m%5 != 0 {
			return m
		}
	}
}

// Next generates the next message of the corpus.
func (g *Generator) Next() Message {
	g.seq++
	g.now = g.now.Add(time.Duration(1+g.r.IntN(3)) * time.Second)
	x := g.r.Float64()
	var m Message
	switch {
	case len(g.pool) > 0 && x < g.opts.CancelRatio:
		m = g.cancel()
	case len(g.pool) > 0 && x < g.opts.CancelRatio+g.opts.ModifyRatio:
		m = g.modify()
	default:
		m = g.create()
	}
	m.Name = fmt.Sprintf("msg-%06d.xml", g.seq)
	g.bytes += int64(len(m.XML))
	return m
}

// Generated returns how many messages Next has produced so far and their
// total size in bytes.
func (g *Generator) Generated() (messages int, bytes int64) { return g.seq, g.bytes }

// eventTime is when the CRS recorded a change, a little before the message
// left, and always after the reservation's previous version.
func (g *Generator) eventTime(prev time.Time) time.Time {
	t := g.now.Add(-time.Duration(g.r.IntN(21)) * time.Second)
	if !prev.IsZero() && !t.After(prev) {
		t = prev.Add(time.Second)
	}
	return t
}

func (g *Generator) create() Message {
	b := g.newBooking()
	g.remember(b)
	return g.render(b, kindCreate)
}

func (g *Generator) modify() Message {
	b := g.pool[g.r.IntN(len(g.pool))]
	b.updated = g.eventTime(b.updated)
	b.version++
	g.change(b)
	return g.render(b, kindModify)
}

func (g *Generator) cancel() Message {
	i := g.r.IntN(len(g.pool))
	b := g.pool[i]
	// A cancelled reservation gets no later versions.
	g.pool[i] = g.pool[len(g.pool)-1]
	g.pool = g.pool[:len(g.pool)-1]
	b.updated = g.eventTime(b.updated)
	b.version++
	b.cancelNo = digits(g.r, 8)
	return g.render(b, kindCancel)
}

func (g *Generator) remember(b *booking) {
	if len(g.pool) < maxPool {
		g.pool = append(g.pool, b)
		return
	}
	g.pool[g.r.IntN(maxPool)] = b
}
