package migrate

import (
	"slices"
	"strings"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/postgres"
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

// backfillRow sets out to the row as the store writes it: the one place
// an input row becomes what Postgres holds. The guest fields are
// protected (protect) before.
func (r *row) backfillRow(out *postgres.BackfillRow) {
	f := r.rec
	*out = postgres.BackfillRow{
		Line: r.line, HotelCode: f[colHotelCode], Confirmation: f[colConfirmation],
		ChainCode: f[colChainCode], Status: f[colStatus], Action: r.action,
		CreatedAt: r.created, ModifiedAt: r.modified, HasModified: r.hasMod,
		Arrival: r.arrival, Departure: r.departure, HasArrival: r.hasArr, HasDeparture: r.hasDep,
		RoomType: f[colRoomType], RatePlan: f[colRatePlan], Adults: r.adults, Children: r.children,
		TotalAfterTax: f[colTotalAfterTax], TotalBeforeTax: f[colTotalBeforeTax], Currency: f[colCurrency],
		GivenName: f[colGivenName], Surname: f[colSurname], Email: f[colEmail], Phone: f[colPhone],
		LoyaltyNumber: f[colLoyaltyNumber], ItineraryID: f[colItineraryID],
		Version: r.vs, EmailIndex: r.idx.Email, LoyaltyIndex: r.idx.Loyalty,
		SpecialRequests: f[colSpecialRequests],
	}
}

// recordsOf returns the records of keys: per key the row the merge kept.
func (c *chunk) recordsOf(keys []reservation.Key) ([]sinks.Record, error) {
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
			res, err := r.reservation()
			if err != nil {
				return nil, err
			}
			out = append(out, sinks.Record{Reservation: res, Version: r.version, GuestIndexes: r.guestIndexes()})
		}
	}
	return out, nil
}
