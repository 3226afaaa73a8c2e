package corpus

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/resingest/resingest/reservation"
)

// EDWHeader is the header row of an EDW reservation extract, the input of
// 'resingest migrate'.
var EDWHeader = []string{
	"confirmation", "hotel_code", "chain_code", "status", "created_at", "modified_at",
	"arrival", "departure", "room_type", "rate_plan", "adults", "children",
	"total_after_tax", "total_before_tax", "currency", "guest_given_name",
	"guest_surname", "guest_email", "guest_phone", "loyalty_number", "itinerary_id",
	"special_requests",
}

// edwRequests are the special requests an EDW row draws from, as hotels'
// systems send them: an OTA or vendor code, a name, free text, or some of
// them. No digit runs of 12 or more (nothing like a card number).
var edwRequests = []reservation.SpecialRequest{
	{Code: "CRIB", Text: "Crib in room"},
	{Code: "1.14", Text: "1 king"},
	{Code: "2.1", Text: "2 queen beds"},
	{Name: "extra bed", Text: "Yes"},
	{Code: "NSMK", Name: "non-smoking"},
	{Code: "HFLR", Text: "High floor, away from the elevator"},
	{Code: "LATE", Name: "late arrival", Text: "Arriving around 23:30, flight LH 402"},
	{Code: "ACCS", Text: "Wheelchair accessible room with roll-in shower"},
	{Name: "anniversary", Text: `Celebrating our 10th anniversary: "something special" if possible`},
	{Code: "FEATH", Name: "allergy", Text: "Feather-free pillows & duvet (Zoë is allergic)"},
	{Text: "Quiet room, not next to the lift/ice machine"},
	{Code: "PET", Text: "Travelling with a small dog, 8 kg"},
}

// edwRequest is how the warehouse exports a request: empty members left
// out (as Spark's to_json leaves out nulls), so a loader must fill them.
type edwRequest struct {
	Code string `json:"code,omitempty"`
	Name string `json:"name,omitempty"`
	Text string `json:"text,omitempty"`
}

// edwSpecialRequests draws a row's special_requests cell: for about 30% of
// rows 1 or 2 requests as a JSON array, else empty.
func edwSpecialRequests(r *rand.Rand) string {
	if r.IntN(10) >= 3 {
		return ""
	}
	list := make([]edwRequest, 1+r.IntN(2))
	for i := range list {
		q := edwRequests[r.IntN(len(edwRequests))]
		list[i] = edwRequest{q.Code, q.Name, q.Text}
	}
	b, err := json.Marshal(list)
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	return string(b)
}

// EDWOptions configures WriteEDW.
type EDWOptions struct {
	Seed   uint64 // same seed, same files
	Hotels int    // default DefaultHotels
	Rows   int    // data rows over all files
	Files  int    // default 1
	// Gzip writes edw-NNNN.csv.gz instead of edw-NNNN.csv.
	Gzip bool
	// RevisionRatio is the share of rows that repeat an earlier
	// confirmation with a later modified_at (the warehouse keeps history
	// rows); default 0.1, negative for none.
	RevisionRatio float64
}

// edwStart is the simulated clock's start: two years of history before
// the message corpus's 2026-01-05.
var edwStart = time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC)

// WriteEDW writes an EDW extract of o.Rows rows spread evenly over o.Files
// CSV files in dir (created if missing) and returns their paths. Hotel codes
// (H00001 ...) and 10-digit confirmation numbers follow the message corpus.
// A revision row always carries a strictly later modified_at than every
// earlier row of its confirmation, wherever the files put it, so the
// newest row of each reservation is unambiguous.
func WriteEDW(ctx context.Context, dir string, o EDWOptions) ([]string, error) {
	if o.Hotels <= 0 {
		o.Hotels = DefaultHotels
	}
	if o.Files <= 0 {
		o.Files = 1
	}
	rev := ratio(o.RevisionRatio, 0.1)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("corpus: edw: %w", err)
	}
	g := New(Options{Seed: o.Seed, Hotels: o.Hotels, Start: edwStart})
	r := rand.New(rand.NewPCG(o.Seed, 0x5eed_ed0))
	// Special requests draw from a stream of their own, so the other
	// columns are those the seed gave before the column existed.
	sr := rand.New(rand.NewPCG(o.Seed, 0x5eed_5e0))
	type past struct {
		b   *booking
		row []string
	}
	var pool []past
	now := edwStart
	var paths []string
	done := 0
	for f := 0; f < o.Files; f++ {
		n := o.Rows / o.Files
		if f < o.Rows%o.Files {
			n++
		}
		ext := ".csv"
		if o.Gzip {
			ext = ".csv.gz"
		}
		path := filepath.Join(dir, fmt.Sprintf("edw-%04d%s", f+1, ext))
		err := writeCSVFile(path, o.Gzip, func(w *csv.Writer) error {
			if err := w.Write(EDWHeader); err != nil {
				return err
			}
			for i := 0; i < n; i++ {
				if done%1024 == 0 && ctx.Err() != nil {
					return ctx.Err()
				}
				done++
				now = now.Add(time.Duration(1+r.IntN(120)) * time.Second)
				var row []string
				if len(pool) > 0 && r.Float64() < rev {
					p := &pool[r.IntN(len(pool))]
					row = g.edwRevision(r, sr, p.b, p.row, now)
					p.row = row
				} else {
					b := g.newBooking()
					b.created, b.updated = now, now
					row = g.edwRow(r, sr, b, "", now)
					if len(pool) < 100_000 {
						pool = append(pool, past{b, row})
					} else {
						pool[r.IntN(len(pool))] = past{b, row}
					}
				}
				if err := w.Write(row); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return paths, fmt.Errorf("corpus: edw: %s: %w", path, err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// edwRow renders booking b as an EDW row; modified is "" for a first row.
// Its special requests are drawn from sr.
func (g *Generator) edwRow(r, sr *rand.Rand, b *booking, status string, modified time.Time) []string {
	h := g.hotels[b.hotel]
	c := cities[h.city]
	s := b.stays[0]
	gu := b.guests[0]
	children := len(s.childAges)
	nightly := h.baseRate * roomTypes[s.room].factor / 100 * ratePlans[s.plan].factor / 100
	before := nightly * int64(s.nights) * int64(s.units)
	after := before + before*c.taxBP/10_000
	mod := ""
	if status == "" {
		status = "Reserved"
	} else {
		mod = modified.UTC().Format(time.RFC3339)
	}
	itinerary := ""
	if r.IntN(5) != 0 {
		itinerary = "IT" + b.crsID
	}
	return []string{
		b.conf, h.code, chains[h.chain].code, status,
		b.created.UTC().Format(time.RFC3339), mod,
		s.start.Format(time.DateOnly), s.end().Format(time.DateOnly),
		roomTypes[s.room].code, ratePlans[s.plan].code,
		strconv.Itoa(s.adults), strconv.Itoa(children),
		cents(after), cents(before), c.currency,
		gu.given, gu.surname, gu.email, gu.phone, gu.member, itinerary,
		edwSpecialRequests(sr),
	}
}

// edwRevision is a later warehouse row of b: a changed stay (with
// special requests drawn again) or a cancellation, modified at now (later
// than any earlier row of b).
func (g *Generator) edwRevision(r, sr *rand.Rand, b *booking, prev []string, now time.Time) []string {
	if prev[3] == "Cancelled" { // a cancelled booking stays cancelled
		row := append([]string(nil), prev...)
		row[5] = now.UTC().Format(time.RFC3339)
		return row
	}
	status := "Modified"
	if r.IntN(4) == 0 {
		status = "Cancelled"
	} else {
		b.stays[0].nights = 1 + r.IntN(7)
		b.stays[0].adults = 1 + r.IntN(3)
	}
	return g.edwRow(r, sr, b, status, now)
}

// cents formats an amount in cents as a decimal string.
func cents(v int64) string {
	return strconv.FormatInt(v/100, 10) + "." + fmt.Sprintf("%02d", v%100)
}

func writeCSVFile(path string, gz bool, fill func(*csv.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	var out io.Writer = bw
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(bw)
		out = zw
	}
	w := csv.NewWriter(out)
	if err := fill(w); err != nil {
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	return bw.Flush()
}
