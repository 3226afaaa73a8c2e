package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/postgres"
)

// maxGuestReservations bounds what one guest query reads.
const maxGuestReservations = 1000

// PostgresStore reads reservations from the tables written by
// sinks/postgres. It is safe for concurrent use.
//
// List queries select keys with their own SQL (keyset pages over
// (hotel_code, arrival, confirmation); guests by the email_index of any guest
// of the reservation) and read each reservation with the sink's Get, so
// the document is built in one place.
type PostgresStore struct {
	sink *postgres.Sink
}

// NewPostgresStore reads through sink (and its pool).
func NewPostgresStore(sink *postgres.Sink) *PostgresStore { return &PostgresStore{sink: sink} }

// Get implements Store.
func (s *PostgresStore) Get(ctx context.Context, k reservation.Key) (Stored, error) {
	r, v, err := s.sink.Get(ctx, k)
	if errors.Is(err, postgres.ErrNotFound) {
		return Stored{}, ErrNotFound
	}
	if err != nil {
		return Stored{}, asBadKey(err)
	}
	return Stored{Reservation: r, Version: v}, nil
}

// pgCursor is the position after the last row of a page; it names its
// hotel and date so it cannot be used for another query.
type pgCursor struct {
	Hotel string `json:"h"`
	Date  string `json:"d"`
	After string `json:"c"`
}

const arrivalsSQL = `
SELECT confirmation FROM reservations
WHERE hotel_code = $1 AND arrival = $2::date AND confirmation > $3
ORDER BY confirmation
LIMIT $4`

// Arrivals implements Store.
func (s *PostgresStore) Arrivals(ctx context.Context, hotel, date string, limit int, cursor string) (ArrivalsPage, error) {
	after := ""
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		var c pgCursor
		if err == nil {
			err = json.Unmarshal(b, &c)
		}
		if err != nil {
			return ArrivalsPage{}, fmt.Errorf("%w: %w", ErrBadCursor, err)
		}
		if c.Hotel != hotel || c.Date != date || c.After == "" {
			return ArrivalsPage{}, fmt.Errorf("%w: cursor belongs to another query", ErrBadCursor)
		}
		after = c.After
	}
	// One row more than the page tells whether there is a next page.
	confs, err := s.keys(ctx, arrivalsSQL, hotel, date, after, limit+1)
	if err != nil {
		return ArrivalsPage{}, fmt.Errorf("api: arrivals: %w", asBadKey(err))
	}
	var page ArrivalsPage
	if len(confs) > limit {
		confs = confs[:limit]
		b, _ := json.Marshal(pgCursor{Hotel: hotel, Date: date, After: confs[limit-1].Confirmation})
		page.Cursor = base64.RawURLEncoding.EncodeToString(b)
	}
	page.Items, err = s.getAll(ctx, confs)
	return page, err
}

const guestSQL = `
SELECT r.hotel_code, r.confirmation FROM reservations r
WHERE EXISTS (SELECT 1 FROM reservation_guests g
		WHERE g.hotel_code = r.hotel_code AND g.confirmation = r.confirmation
		AND g.email_index = $1 AND g.email_index <> '')
	AND ($2::date IS NULL OR r.arrival >= $2::date)
	AND ($3::date IS NULL OR r.arrival <= $3::date)
ORDER BY r.arrival NULLS FIRST, r.confirmation, r.hotel_code
LIMIT $4`

// GuestReservations implements Store: reservations where any guest's
// e-mail index is guestID (the normalised address when guests are stored
// plain, its blind index when sealed: see OpenedStore).
func (s *PostgresStore) GuestReservations(ctx context.Context, guestID, from, to string) ([]Stored, error) {
	keys, err := s.keys(ctx, guestSQL, guestID, nullable(from), nullable(to), maxGuestReservations)
	if err != nil {
		return nil, fmt.Errorf("api: guest reservations: %w", asBadKey(err))
	}
	return s.getAll(ctx, keys)
}

const confirmationSQL = `
SELECT hotel_code, confirmation FROM reservations WHERE confirmation = $1
ORDER BY hotel_code LIMIT $2`

// KeysByConfirmation implements Store.
func (s *PostgresStore) KeysByConfirmation(ctx context.Context, confirmation string, limit int) ([]reservation.Key, error) {
	keys, err := s.keys(ctx, confirmationSQL, confirmation, limit)
	if err != nil {
		return nil, fmt.Errorf("api: lookup: %w", asBadKey(err))
	}
	return keys, nil
}

// Ready implements Store.
func (s *PostgresStore) Ready(ctx context.Context) error { return s.sink.Pool().Ping(ctx) }

// keys runs a query returning (confirmation) or (hotel_code, confirmation)
// rows; with one column the hotel is the first argument.
func (s *PostgresStore) keys(ctx context.Context, sql string, args ...any) ([]reservation.Key, error) {
	rows, err := s.sink.Pool().Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	oneColumn := len(rows.FieldDescriptions()) == 1
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (reservation.Key, error) {
		var k reservation.Key
		if oneColumn {
			k.HotelCode, _ = args[0].(string)
			return k, row.Scan(&k.Confirmation)
		}
		return k, row.Scan(&k.HotelCode, &k.Confirmation)
	})
}

func (s *PostgresStore) getAll(ctx context.Context, keys []reservation.Key) ([]Stored, error) {
	out := make([]Stored, 0, len(keys))
	for _, k := range keys {
		st, err := s.Get(ctx, k)
		if errors.Is(err, ErrNotFound) {
			continue // never deleted today, but a read must not fail on it
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// nullable passes "" to SQL as NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
