package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/resingest/resingest/reservation"
)

// getSQL reads a reservation and its children in one statement, so they
// come from one snapshot even while a writer replaces them. Children come
// as JSON arrays whose keys are the record's JSON field names; amounts are
// rendered as text to keep their scale ("12.50" stays "12.50").
const getSQL = `
SELECT r.message_type, r.message_id, r.message_time, r.action, r.status, r.chain_code,
	r.created_at, r.modified_at, r.arrival, r.departure, r.adults, r.children,
	coalesce(r.total_after_tax::text, ''), coalesce(r.total_before_tax::text, ''), r.currency,
	r.card_code, r.card_last4, r.card_expire, r.version,
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
			'country', c.country) ORDER BY c.ordinal), '[]')
		FROM reservation_guests c
		WHERE c.hotel_code = r.hotel_code AND c.confirmation = r.confirmation),
	(SELECT coalesce(json_agg(json_build_object(
			'type', c.id_type, 'value', c.id_value, 'source', c.id_source) ORDER BY c.ordinal), '[]')
		FROM reservation_external_ids c
		WHERE c.hotel_code = r.hotel_code AND c.confirmation = r.confirmation),
	r.special_requests::text
FROM reservations r
WHERE r.hotel_code = $1 AND r.confirmation = $2`

// Get reads back the stored reservation with key k, its children in their
// original order, and its stored version (reservation.Version.String()).
// It returns an error wrapping ErrNotFound when there is none.
//
// Times come back in UTC as RFC 3339 with a Z, at microsecond precision;
// amounts as Postgres renders the stored numeric, which keeps the scale
// ("12.50" stays "12.50") but not a sign or leading zeros ("+05" is "5").
// Get is safe for concurrent use.
func (s *Sink) Get(ctx context.Context, k reservation.Key) (reservation.Reservation, string, error) {
	r := reservation.Reservation{HotelCode: k.HotelCode, Confirmation: k.Confirmation}
	var version string
	var msgTime, created, modified pgtype.Timestamptz
	var arrival, departure pgtype.Date
	var roomStays, guests, externalIDs, specialRequests []byte
	err := s.pool.QueryRow(ctx, getSQL, k.HotelCode, k.Confirmation).Scan(
		&r.MessageType, &r.MessageID, &msgTime, &r.Action, &r.Status, &r.ChainCode,
		&created, &modified, &arrival, &departure, &r.Adults, &r.Children,
		&r.TotalAfterTax, &r.TotalBeforeTax, &r.Currency,
		&r.Payment.CardCode, &r.Payment.Last4, &r.Payment.Expire, &version,
		&roomStays, &guests, &externalIDs, &specialRequests)
	if errors.Is(err, pgx.ErrNoRows) {
		return reservation.Reservation{}, "", fmt.Errorf("reservation %s: %w", k, ErrNotFound)
	}
	if err != nil {
		return reservation.Reservation{}, "", fmt.Errorf("postgres: get reservation: %w", classify(err))
	}
	r.MessageTime = timeString(msgTime)
	r.CreatedAt, r.ModifiedAt = timeString(created), timeString(modified)
	r.Arrival, r.Departure = dateString(arrival), dateString(departure)
	for _, part := range []struct {
		raw []byte
		to  any
	}{{roomStays, &r.RoomStays}, {guests, &r.Guests}, {externalIDs, &r.ExternalIDs}, {specialRequests, &r.SpecialRequests}} {
		if err := json.Unmarshal(part.raw, part.to); err != nil {
			return reservation.Reservation{}, "", fmt.Errorf("postgres: get reservation: decode children: %w", err)
		}
	}
	r.Normalize()
	return r, version, nil
}

// timeString renders a stored time as the record does: RFC 3339 in UTC
// with a Z; NULL is "".
func timeString(t pgtype.Timestamptz) string {
	if !t.Valid {
		return ""
	}
	return t.Time.UTC().Format(time.RFC3339Nano)
}

// dateString renders a stored date as YYYY-MM-DD; NULL is "".
func dateString(d pgtype.Date) string {
	if !d.Valid {
		return ""
	}
	return d.Time.Format(time.DateOnly)
}
