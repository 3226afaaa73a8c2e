package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// exportSQL reads a page of stored reservations after the key ($1, $2) in
// key order, with their children as JSON arrays in ordinal order (the
// shape of postgres.Sink.Get) and the guests' blind indexes.
const exportSQL = `
SELECT r.hotel_code, r.confirmation, r.message_type, r.message_id, r.message_time, r.action,
	r.status, r.chain_code, r.created_at, r.modified_at, r.arrival, r.departure,
	r.adults, r.children,
	coalesce(r.total_after_tax::text, ''), coalesce(r.total_before_tax::text, ''), r.currency,
	r.card_code, r.card_last4, r.card_expire, r.archive_key, r.version,
	(SELECT coalesce(json_agg(json_build_object(
			'room_type', c.room_type, 'rate_plan', c.rate_plan, 'units', c.units,
			'arrival', coalesce(to_char(c.arrival, 'YYYY-MM-DD'), ''),
			'departure', coalesce(to_char(c.departure, 'YYYY-MM-DD'), ''),
			'adults', c.adults, 'children', c.children,
			'total_after_tax', coalesce(c.total_after_tax::text, ''),
			'total_before_tax', coalesce(c.total_before_tax::text, ''),
			'currency', c.currency) ORDER BY c.ordinal), '[]')
		FROM reservation_room_stays c
		WHERE c.hotel_code = r.hotel_code AND c.confirmation = r.confirmation),
	(SELECT coalesce(json_agg(json_build_object(
			'primary', c.is_primary, 'given_name', c.given_name, 'surname', c.surname,
			'email', c.email, 'phone', c.phone, 'loyalty_program', c.loyalty_program,
			'loyalty_number', c.loyalty_number, 'city', c.city, 'postal_code', c.postal_code,
			'country', c.country, 'email_index', c.email_index,
			'loyalty_index', c.loyalty_index) ORDER BY c.ordinal), '[]')
		FROM reservation_guests c
		WHERE c.hotel_code = r.hotel_code AND c.confirmation = r.confirmation),
	(SELECT coalesce(json_agg(json_build_object(
			'type', c.id_type, 'value', c.id_value, 'source', c.id_source) ORDER BY c.ordinal), '[]')
		FROM reservation_external_ids c
		WHERE c.hotel_code = r.hotel_code AND c.confirmation = r.confirmation)
FROM reservations r
WHERE (r.hotel_code, r.confirmation) > ($1, $2)
ORDER BY r.hotel_code, r.confirmation
LIMIT $3`

// storedGuest is a guest row with its blind indexes.
type storedGuest struct {
	reservation.Guest
	EmailIndex   string `json:"email_index"`
	LoyaltyIndex string `json:"loyalty_index"`
}

// readPage reads up to limit stored records after key, in key order.
func readPage(ctx context.Context, tx pgx.Tx, after reservation.Key, limit int) ([]sinks.Record, error) {
	rows, err := tx.Query(ctx, exportSQL, after.HotelCode, after.Confirmation, limit)
	if err != nil {
		return nil, fmt.Errorf("migrate: read reservations: %w", err)
	}
	defer rows.Close()
	var out []sinks.Record
	for rows.Next() {
		rec, err := scanStored(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: read reservations: %w", err)
	}
	return out, nil
}

// scanStored rebuilds the record the stores hold from one exportSQL row.
func scanStored(rows pgx.Rows) (sinks.Record, error) {
	var r reservation.Reservation
	var rec sinks.Record
	var version string
	var msgTime, created, modified pgtype.Timestamptz
	var arrival, departure pgtype.Date
	var roomStays, guests, externalIDs []byte
	if err := rows.Scan(&r.HotelCode, &r.Confirmation, &r.MessageType, &r.MessageID, &msgTime,
		&r.Action, &r.Status, &r.ChainCode, &created, &modified, &arrival, &departure,
		&r.Adults, &r.Children, &r.TotalAfterTax, &r.TotalBeforeTax, &r.Currency,
		&r.Payment.CardCode, &r.Payment.Last4, &r.Payment.Expire, &rec.ArchiveKey, &version,
		&roomStays, &guests, &externalIDs); err != nil {
		return rec, fmt.Errorf("migrate: read reservations: %w", err)
	}
	r.MessageTime = timeText(msgTime)
	r.CreatedAt, r.ModifiedAt = timeText(created), timeText(modified)
	r.Arrival, r.Departure = dateText(arrival), dateText(departure)
	var gs []storedGuest
	for _, part := range []struct {
		raw []byte
		to  any
	}{{roomStays, &r.RoomStays}, {guests, &gs}, {externalIDs, &r.ExternalIDs}} {
		if err := json.Unmarshal(part.raw, part.to); err != nil {
			return rec, fmt.Errorf("migrate: %s: decode children: %w", r.Key(), err)
		}
	}
	sealed := false
	r.Guests = make([]reservation.Guest, len(gs))
	idx := make([]pii.GuestIndex, len(gs))
	for i, g := range gs {
		r.Guests[i] = g.Guest
		idx[i] = pii.GuestIndex{Email: g.EmailIndex, Loyalty: g.LoyaltyIndex}
		sealed = sealed || g.EmailIndex != "" || g.LoyaltyIndex != ""
	}
	if sealed {
		// Blind indexes are written only for sealed guests (see
		// sinks.Record.GuestIndexes).
		rec.GuestIndexes = idx
	}
	r.Normalize()
	v, err := parseVersion(version)
	if err != nil {
		return rec, err
	}
	rec.Reservation, rec.Version = r, v
	return rec, nil
}

// timeText renders a stored time as the record does (RFC 3339, UTC, Z);
// NULL is "".
func timeText(t pgtype.Timestamptz) string {
	if !t.Valid {
		return ""
	}
	return normTime(t.Time)
}

// dateText renders a stored date as YYYY-MM-DD; NULL is "".
func dateText(d pgtype.Date) string {
	if !d.Valid {
		return ""
	}
	return d.Time.Format(time.DateOnly)
}
