package migrate

import (
	"slices"
	"strings"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// lastLine is the line of the chunk's last record (for errors).
func (c *chunk) lastLine() int64 {
	var last int64
	if n := len(c.rows); n > 0 {
		last = c.rows[n-1].line
	}
	if n := len(c.rejects); n > 0 && c.rejects[n-1].line > last {
		last = c.rejects[n-1].line
	}
	return last
}

// newest returns the chunk's winning row per key (row.newer), sorted by
// key: the staging table then holds one row per key, in the order the
// merge locks them, so its sorts find their input already sorted. Later
// calls return the same slice.
func (c *chunk) newest() []*row {
	if c.staged != nil {
		return c.staged
	}
	out := make([]*row, 0, len(c.rows))
	for i := range c.rows {
		out = append(out, &c.rows[i])
	}
	slices.SortFunc(out, func(a, b *row) int {
		if n := strings.Compare(a.rec[colHotelCode], b.rec[colHotelCode]); n != 0 {
			return n
		}
		if n := strings.Compare(a.rec[colConfirmation], b.rec[colConfirmation]); n != 0 {
			return n
		}
		if a.newer(b) { // newest first
			return -1
		}
		return 1
	})
	c.staged = slices.CompactFunc(out, func(a, b *row) bool { return a.key() == b.key() })
	return c.staged
}

// stageCopy feeds COPY the staging-table values of rows.
func stageCopy(rows []*row) func(int) ([]any, error) {
	return func(i int) ([]any, error) { return rows[i].stageValues(), nil }
}

// stageValues is the row in stageColumns order: the one place an input
// row becomes what the stores hold.
func (r *row) stageValues() []any {
	f := r.rec
	var modified, arrival, departure any
	if r.hasMod {
		modified = r.modified
	}
	if r.hasArr {
		arrival = r.arrival
	}
	if r.hasDep {
		departure = r.departure
	}
	return []any{
		r.line, f[colHotelCode], f[colConfirmation], f[colChainCode], f[colStatus], r.action,
		r.created, modified, arrival, departure, f[colRoomType], f[colRatePlan],
		r.adults, r.children, f[colTotalAfterTax], f[colTotalBeforeTax], f[colCurrency],
		f[colGivenName], f[colSurname], f[colEmail], f[colPhone], f[colLoyaltyNumber],
		f[colItineraryID], r.vs, r.idx.Email, r.idx.Loyalty,
	}
}

// recordsOf returns the records of keys: per key the row the merge kept.
func (c *chunk) recordsOf(keys []reservation.Key) []sinks.Record {
	staged := c.newest()
	out := make([]sinks.Record, 0, len(keys))
	for _, k := range keys {
		i, ok := slices.BinarySearchFunc(staged, k, func(r *row, k reservation.Key) int {
			if n := strings.Compare(r.rec[colHotelCode], k.HotelCode); n != 0 {
				return n
			}
			return strings.Compare(r.rec[colConfirmation], k.Confirmation)
		})
		if ok {
			r := staged[i]
			out = append(out, sinks.Record{Reservation: r.reservation(), Version: r.version, GuestIndexes: r.guestIndexes()})
		}
	}
	return out
}
