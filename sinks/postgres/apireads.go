package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/reservation"
)

// The itinerary API's queries: each selects the keys of the reservations
// it answers with, in order; the reservations themselves are read with Get,
// so a document is built in one place.

const arrivalKeysSQL = `
SELECT confirmation FROM reservations
WHERE hotel_code = $1 AND arrival = $2::date AND confirmation > $3
ORDER BY confirmation
LIMIT $4`

// ArrivalKeys returns the keys of hotel's reservations arriving on date
// (YYYY-MM-DD) whose confirmation sorts after after ("" for the first
// page), in confirmation order, at most limit. A value the server cannot
// take (an invalid date, a NUL byte) fails with its *pgconn.PgError (class
// 22) in the chain. Safe for concurrent use.
func (s *Sink) ArrivalKeys(ctx context.Context, hotel, date, after string, limit int) ([]reservation.Key, error) {
	return s.queryKeys(ctx, "arrivals", hotel, arrivalKeysSQL, hotel, date, after, limit)
}

const guestKeysSQL = `
SELECT r.hotel_code, r.confirmation FROM reservations r
WHERE EXISTS (SELECT 1 FROM reservation_guests g
		WHERE g.hotel_code = r.hotel_code AND g.confirmation = r.confirmation
		AND g.email_index = $1 AND g.email_index <> '')
	AND ($2::date IS NULL OR r.arrival >= $2::date)
	AND ($3::date IS NULL OR r.arrival <= $3::date)
ORDER BY r.arrival NULLS FIRST, r.confirmation, r.hotel_code
LIMIT $4`

// GuestKeys returns the keys of the reservations where any guest's e-mail
// index is emailIndex (the normalised address of plain guests, its blind
// index when sealed), arriving between from and to (YYYY-MM-DD, inclusive;
// "" leaves a side open), by arrival, at most limit. Safe for concurrent
// use.
func (s *Sink) GuestKeys(ctx context.Context, emailIndex, from, to string, limit int) ([]reservation.Key, error) {
	return s.queryKeys(ctx, "guest reservations", "", guestKeysSQL, emailIndex, nullable(from), nullable(to), limit)
}

const keysByConfirmationSQL = `
SELECT hotel_code, confirmation FROM reservations WHERE confirmation = $1
ORDER BY hotel_code LIMIT $2`

// KeysByConfirmation returns the keys of the reservations with this
// confirmation, one per hotel that has it, by hotel, at most limit. Safe
// for concurrent use.
func (s *Sink) KeysByConfirmation(ctx context.Context, confirmation string, limit int) ([]reservation.Key, error) {
	return s.queryKeys(ctx, "lookup", "", keysByConfirmationSQL, confirmation, limit)
}

// Ping checks that the server answers. Safe for concurrent use.
func (s *Sink) Ping(ctx context.Context) error {
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", classify(err))
	}
	return nil
}

// queryKeys runs a query returning (confirmation) rows, of hotel, or
// (hotel_code, confirmation) rows.
func (s *Sink) queryKeys(ctx context.Context, what, hotel, sql string, args ...any) ([]reservation.Key, error) {
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, classify(err))
	}
	oneColumn := len(rows.FieldDescriptions()) == 1
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (reservation.Key, error) {
		k := reservation.Key{HotelCode: hotel}
		if oneColumn {
			return k, row.Scan(&k.Confirmation)
		}
		return k, row.Scan(&k.HotelCode, &k.Confirmation)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, classify(err))
	}
	return keys, nil
}

// nullable passes "" to SQL as NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
