package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/postgres"
)

// maxGuestReservations bounds what one guest query reads.
const maxGuestReservations = 1000

// PostgresStore reads reservations through the Postgres store's typed
// methods (no SQL of its own). It is safe for concurrent use.
//
// List queries select keys (keyset pages over (hotel_code, arrival,
// confirmation); guests by the email_index of any guest of the reservation)
// and read each reservation with the store's Get, so the document is built
// in one place.
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
	confs, err := s.sink.ArrivalKeys(ctx, hotel, date, after, limit+1)
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

// GuestReservations implements Store: reservations where any guest's
// e-mail index is guestID (the normalised address when guests are stored
// plain, its blind index when sealed: see OpenedStore).
func (s *PostgresStore) GuestReservations(ctx context.Context, guestID, from, to string) ([]Stored, error) {
	keys, err := s.sink.GuestKeys(ctx, guestID, from, to, maxGuestReservations)
	if err != nil {
		return nil, fmt.Errorf("api: guest reservations: %w", asBadKey(err))
	}
	return s.getAll(ctx, keys)
}

// KeysByConfirmation implements Store.
func (s *PostgresStore) KeysByConfirmation(ctx context.Context, confirmation string, limit int) ([]reservation.Key, error) {
	keys, err := s.sink.KeysByConfirmation(ctx, confirmation, limit)
	if err != nil {
		return nil, fmt.Errorf("api: lookup: %w", asBadKey(err))
	}
	return keys, nil
}

// Ready implements Store.
func (s *PostgresStore) Ready(ctx context.Context) error { return s.sink.Ping(ctx) }

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
