// Package coverage measures what a mapping yields over a feed of messages:
// per message type, how many records give a value for each field, which
// messages are rejected and why, and how many records would be held for key
// resolution because they carry no hotel code. It backs 'resingest mapping
// check' and 'resingest consume --dry-run', so an integrator sees what a new
// vendor's feed gives before anything is stored.
//
// A Report never keeps message content: only counts, message type names,
// error classes and the names of (at most a few) example messages.
package coverage

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/reservation"
)

// Parser extracts the records of one message (parse.Parser).
type Parser interface {
	Parse(msg []byte) ([]reservation.Reservation, error)
}

// maxExamples bounds the message names kept per rejection reason.
const maxExamples = 3

// Fields are the record fields the report counts, in record order. A field
// "has a value" when it is not empty: a non-empty string, a non-zero count,
// a non-empty list, a payment with a card code or last four digits.
var Fields = []string{
	"message_id", "message_time", "status", "confirmation", "hotel_code", "chain_code",
	"created_at", "modified_at", "arrival", "departure", "room_stays", "adults", "children",
	"guests", "total_after_tax", "total_before_tax", "currency", "external_ids", "payment",
}

func fieldValues(r *reservation.Reservation) []bool {
	return []bool{
		r.MessageID != "", r.MessageTime != "", r.Status != "", r.Confirmation != "", r.HotelCode != "", r.ChainCode != "",
		r.CreatedAt != "", r.ModifiedAt != "", r.Arrival != "", r.Departure != "", len(r.RoomStays) > 0, r.Adults > 0, r.Children > 0,
		len(r.Guests) > 0, r.TotalAfterTax != "", r.TotalBeforeTax != "", r.Currency != "", len(r.ExternalIDs) > 0,
		r.Payment.CardCode != "" || r.Payment.Last4 != "",
	}
}

// typeStats are the counts of one message type.
type typeStats struct {
	messages, records, held int
	actions                 map[string]int
	withValue               []int // per Fields
}

// rejection groups the messages rejected for one reason.
type rejection struct {
	count    int
	examples []string
}

// Report accumulates the coverage of a feed. It is not safe for concurrent
// use.
type Report struct {
	types    map[string]*typeStats
	rejected map[string]*rejection
	messages int
}

// New returns an empty report.
func New() *Report {
	return &Report{types: map[string]*typeStats{}, rejected: map[string]*rejection{}}
}

// Check parses one message with p, validates its records and counts the
// result under name (a file name, key or partition/offset, used only as an
// example in the rejection list).
func (r *Report) Check(p Parser, name string, msg []byte) {
	recs, err := p.Parse(msg)
	r.Add(name, recs, err)
}

// Add counts the outcome of parsing one message: its records, or the error
// that rejected it. A record without a hotel code is held (key resolution
// applies it to the stored reservation with its confirmation); a record that
// fails any other validation rejects the message, as the pipeline does.
func (r *Report) Add(name string, recs []reservation.Reservation, err error) {
	r.messages++
	if err != nil {
		r.reject(name, reasonOf(err))
		return
	}
	for i := range recs {
		if verr := recs[i].Validate(); verr != nil && !missingHotel(verr) {
			r.reject(name, reasonOf(verr))
			return
		}
	}
	for i := range recs {
		rec := &recs[i]
		ts := r.types[rec.MessageType]
		if ts == nil {
			ts = &typeStats{actions: map[string]int{}, withValue: make([]int, len(Fields))}
			r.types[rec.MessageType] = ts
		}
		if i == 0 {
			ts.messages++
		}
		ts.records++
		ts.actions[rec.Action]++
		if rec.HotelCode == "" {
			ts.held++
		}
		for f, has := range fieldValues(rec) {
			if has {
				ts.withValue[f]++
			}
		}
	}
}

// missingHotel reports the one validation failure key resolution handles.
func missingHotel(err error) bool {
	var fe *reservation.FieldError
	return errors.As(err, &fe) && fe.Field == "hotel_code"
}

// reasonOf names a rejection by its class (parse.Err*), without the detail
// that differs from message to message.
func reasonOf(err error) string {
	var pe *parse.Error
	if errors.As(err, &pe) {
		return pe.Kind.Error()
	}
	var fe *reservation.FieldError
	if errors.As(err, &fe) {
		return "invalid record: " + fe.Field + ": " + fe.Reason
	}
	return err.Error()
}

func (r *Report) reject(name, reason string) {
	rj := r.rejected[reason]
	if rj == nil {
		rj = &rejection{}
		r.rejected[reason] = rj
	}
	rj.count++
	if len(rj.examples) < maxExamples {
		rj.examples = append(rj.examples, name)
	}
}

// Totals are a report's headline counts.
type Totals struct {
	Messages int // messages read
	Parsed   int // messages that gave records
	Records  int // records of the parsed messages
	Rejected int // messages rejected (parse or validation)
	Held     int // records without a hotel code (held for key resolution)
}

// Totals returns the headline counts.
func (r *Report) Totals() Totals {
	t := Totals{Messages: r.messages}
	for _, ts := range r.types {
		t.Parsed += ts.messages
		t.Records += ts.records
		t.Held += ts.held
	}
	for _, rj := range r.rejected {
		t.Rejected += rj.count
	}
	return t
}

// Coverage returns, for a message type and a field of Fields, how many
// records give a value and how many records there are.
func (r *Report) Coverage(messageType, field string) (withValue, records int) {
	ts := r.types[messageType]
	if ts == nil {
		return 0, 0
	}
	for i, f := range Fields {
		if f == field {
			return ts.withValue[i], ts.records
		}
	}
	return 0, ts.records
}

// Rejections returns the number of messages rejected per reason.
func (r *Report) Rejections() map[string]int {
	out := make(map[string]int, len(r.rejected))
	for reason, rj := range r.rejected {
		out[reason] = rj.count
	}
	return out
}

// Write prints the report: the totals, then one table per message type
// (field, records with a value, share), then the rejections by reason with
// example message names.
func (r *Report) Write(w io.Writer) error {
	t := r.Totals()
	var b strings.Builder
	fmt.Fprintf(&b, "%d messages: %d parsed into %d records, %d rejected; %d records held for key resolution (no hotel code)\n",
		t.Messages, t.Parsed, t.Records, t.Rejected, t.Held)
	types := make([]string, 0, len(r.types))
	for name := range r.types {
		types = append(types, name)
	}
	sort.Strings(types)
	for _, name := range types {
		ts := r.types[name]
		fmt.Fprintf(&b, "\n%s: %d messages, %d records, %d held for key resolution; actions: %s\n",
			name, ts.messages, ts.records, ts.held, formatActions(ts.actions))
		fmt.Fprintf(&b, "  %-16s  %12s  %5s\n", "field", "with a value", "share")
		for i, f := range Fields {
			frac := fmt.Sprintf("%d/%d", ts.withValue[i], ts.records)
			fmt.Fprintf(&b, "  %-16s  %12s  %4d%%\n", f, frac, percent(ts.withValue[i], ts.records))
		}
	}
	if len(r.rejected) > 0 {
		reasons := make([]string, 0, len(r.rejected))
		for reason := range r.rejected {
			reasons = append(reasons, reason)
		}
		sort.Slice(reasons, func(i, j int) bool {
			a, c := r.rejected[reasons[i]], r.rejected[reasons[j]]
			return a.count > c.count || (a.count == c.count && reasons[i] < reasons[j])
		})
		fmt.Fprintf(&b, "\nrejected: %d messages\n", t.Rejected)
		for _, reason := range reasons {
			rj := r.rejected[reason]
			more := ""
			if rj.count > len(rj.examples) {
				more = ", ..."
			}
			fmt.Fprintf(&b, "  %d  %s (e.g. %s%s)\n", rj.count, reason, strings.Join(rj.examples, ", "), more)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func formatActions(actions map[string]int) string {
	var parts []string
	for _, a := range []string{reservation.ActionCreate, reservation.ActionModify, reservation.ActionCancel} {
		if n := actions[a]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", a, n))
		}
	}
	return strings.Join(parts, ", ")
}

func percent(n, of int) int {
	if of == 0 {
		return 0
	}
	return n * 100 / of
}
