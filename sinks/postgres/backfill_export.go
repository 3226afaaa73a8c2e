package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// Snapshot reads every stored reservation, page by page, in one REPEATABLE
// READ read-only transaction: all pages are one snapshot (the backfill's
// DynamoDB import files, migrate.ExportImportFiles). It is not safe for
// concurrent use.
type Snapshot struct {
	tx pgx.Tx
}

// OpenSnapshot begins a snapshot; Close ends it.
func (s *Sink) OpenSnapshot(ctx context.Context) (*Snapshot, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	return &Snapshot{tx: tx}, nil
}

// Close ends the snapshot (a rollback: it is read only), even when ctx is
// done.
func (s *Snapshot) Close(ctx context.Context) {
	_ = s.tx.Rollback(context.WithoutCancel(ctx))
}

// ReadPage reads up to limit stored records after key, in key order, with
// their children in ordinal order: as sinks.Record, versions parsed,
// normalised, with the guests' blind indexes when the guests are sealed.
// Errors name what was read ("read reservations: ...").
func (s *Snapshot) ReadPage(ctx context.Context, after reservation.Key, limit int) ([]sinks.Record, error) {
	return readPage(ctx, s.tx, after, limit)
}

// exportParentsSQL reads a page of stored reservations after the key
// ($1, $2), in key order.
const exportParentsSQL = `
SELECT hotel_code, confirmation, message_type, message_id, message_time, action,
	status, chain_code, created_at, modified_at, arrival, departure, adults, children,
	coalesce(total_after_tax::text, ''), coalesce(total_before_tax::text, ''), currency,
	card_code, card_last4, card_expire, archive_key, version, special_requests
FROM reservations
WHERE (hotel_code, confirmation) > ($1, $2)
ORDER BY hotel_code, confirmation
LIMIT $3`

// The children of the page's key range ($1, $2] .. ($3, $4], in key and
// ordinal order: one index range scan each instead of three lookups per
// reservation. Amounts as text keep their scale ("12.50" stays "12.50").
const (
	childRange = `WHERE (hotel_code, confirmation) > ($1, $2) AND (hotel_code, confirmation) <= ($3, $4)
ORDER BY hotel_code, confirmation, ordinal`
	exportRoomStaysSQL = `
SELECT hotel_code, confirmation, room_type, rate_plan, units,
	coalesce(to_char(arrival, 'YYYY-MM-DD'), ''), coalesce(to_char(departure, 'YYYY-MM-DD'), ''),
	adults, children, coalesce(total_after_tax::text, ''), coalesce(total_before_tax::text, ''), currency
FROM reservation_room_stays ` + childRange
	exportGuestsSQL = `
SELECT hotel_code, confirmation, is_primary, given_name, surname, email, phone, loyalty_program,
	loyalty_number, city, postal_code, country, email_index, loyalty_index
FROM reservation_guests ` + childRange
	exportExternalIDsSQL = `
SELECT hotel_code, confirmation, id_type, id_value, id_source
FROM reservation_external_ids ` + childRange
)

// readPage reads up to limit stored records after key, in key order, with
// their children in ordinal order.
func readPage(ctx context.Context, tx pgx.Tx, after reservation.Key, limit int) ([]sinks.Record, error) {
	rows, err := tx.Query(ctx, exportParentsSQL, after.HotelCode, after.Confirmation, limit)
	if err != nil {
		return nil, fmt.Errorf("read reservations: %w", err)
	}
	var recs []sinks.Record
	for rows.Next() {
		rec, err := scanParent(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		recs = append(recs, rec)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read reservations: %w", err)
	}
	if len(recs) == 0 {
		return nil, nil
	}
	last := recs[len(recs)-1].Reservation.Key()
	sealed := make([]bool, len(recs))
	indexes := make([][]pii.GuestIndex, len(recs))
	var k reservation.Key
	var rs reservation.RoomStay
	var g reservation.Guest
	var gi pii.GuestIndex
	var x reservation.ExternalID
	for _, child := range []struct {
		sql  string
		dest []any
		add  func(r *reservation.Reservation, i int)
	}{
		{exportRoomStaysSQL, []any{&k.HotelCode, &k.Confirmation, &rs.RoomType, &rs.RatePlan, &rs.Units,
			&rs.Arrival, &rs.Departure, &rs.Adults, &rs.Children, &rs.TotalAfterTax, &rs.TotalBeforeTax, &rs.Currency},
			func(r *reservation.Reservation, _ int) { r.RoomStays = append(r.RoomStays, rs) }},
		{exportGuestsSQL, []any{&k.HotelCode, &k.Confirmation, &g.Primary, &g.GivenName, &g.Surname, &g.Email,
			&g.Phone, &g.LoyaltyProgram, &g.LoyaltyNumber, &g.City, &g.PostalCode, &g.Country, &gi.Email, &gi.Loyalty},
			func(r *reservation.Reservation, i int) {
				r.Guests = append(r.Guests, g)
				indexes[i] = append(indexes[i], gi)
				sealed[i] = sealed[i] || gi != (pii.GuestIndex{})
			}},
		{exportExternalIDsSQL, []any{&k.HotelCode, &k.Confirmation, &x.Type, &x.Value, &x.Source},
			func(r *reservation.Reservation, _ int) { r.ExternalIDs = append(r.ExternalIDs, x) }},
	} {
		rows, err := tx.Query(ctx, child.sql, after.HotelCode, after.Confirmation, last.HotelCode, last.Confirmation)
		if err != nil {
			return nil, fmt.Errorf("read children: %w", err)
		}
		// Both sides come in the database's key order, and every child's
		// parent is in the page (same snapshot, same key range): one walk,
		// whatever the collation.
		i := 0
		_, err = pgx.ForEachRow(rows, child.dest, func() error {
			for i < len(recs) && recs[i].Reservation.Key() != k {
				i++
			}
			if i == len(recs) {
				return fmt.Errorf("%w: %s", errOrphanChild, k)
			}
			child.add(&recs[i].Reservation, i)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read children: %w", err)
		}
	}
	for i := range recs {
		if sealed[i] {
			// Blind indexes are written only for sealed guests (see
			// sinks.Record.GuestIndexes).
			recs[i].GuestIndexes = indexes[i]
		}
		recs[i].Reservation.Normalize()
	}
	return recs, nil
}

// errOrphanChild is wrapped when a child row has no parent in its page:
// the key orders of the two queries disagree (it cannot happen within one
// snapshot).
var errOrphanChild = errors.New("child row without its reservation in the page")

// scanParent reads one exportParentsSQL row.
func scanParent(rows pgx.Rows) (sinks.Record, error) {
	var r reservation.Reservation
	var rec sinks.Record
	var version string
	var msgTime, created, modified pgtype.Timestamptz
	var arrival, departure pgtype.Date
	if err := rows.Scan(&r.HotelCode, &r.Confirmation, &r.MessageType, &r.MessageID, &msgTime,
		&r.Action, &r.Status, &r.ChainCode, &created, &modified, &arrival, &departure,
		&r.Adults, &r.Children, &r.TotalAfterTax, &r.TotalBeforeTax, &r.Currency,
		&r.Payment.CardCode, &r.Payment.Last4, &r.Payment.Expire, &rec.ArchiveKey, &version,
		&r.SpecialRequests); err != nil {
		return rec, fmt.Errorf("read reservations: %w", err)
	}
	r.MessageTime = timeString(msgTime)
	r.CreatedAt, r.ModifiedAt = timeString(created), timeString(modified)
	r.Arrival, r.Departure = dateString(arrival), dateString(departure)
	v, err := parseVersion(version)
	if err != nil {
		return rec, err
	}
	rec.Reservation, rec.Version = r, v
	return rec, nil
}
