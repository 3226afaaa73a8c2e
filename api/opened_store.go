package api

import (
	"context"
	"fmt"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
)

// Opener decrypts guests' sealed fields and computes blind indexes
// (pii.Keyring).
type Opener interface {
	OpenGuests(ctx context.Context, guests []reservation.Guest) ([]reservation.Guest, error)
	BlindIndex(kind, value string) string
}

// OpenedStore reads a Store whose guests' personal fields are sealed
// (written with a keyring): every reservation comes back with its guests
// decrypted, so the handlers, the scope checks and the masking see plain
// values, and a guest's e-mail is turned into its blind index before the
// store is asked. Without it, a Store returns what is stored and guest ids
// are the normalised e-mail (the stores index plain values that way). Safe
// for concurrent use.
type OpenedStore struct {
	next Store
	keys Opener
}

// NewOpenedStore wraps next.
func NewOpenedStore(next Store, keys Opener) *OpenedStore {
	return &OpenedStore{next: next, keys: keys}
}

func (s *OpenedStore) open(ctx context.Context, st *Stored) error {
	g, err := s.keys.OpenGuests(ctx, st.Reservation.Guests)
	if err != nil {
		return fmt.Errorf("api: open guests of %s: %w", st.Reservation.Key(), err)
	}
	st.Reservation.Guests = g
	return nil
}

func (s *OpenedStore) openAll(ctx context.Context, list []Stored) ([]Stored, error) {
	for i := range list {
		if err := s.open(ctx, &list[i]); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// Get implements Store.
func (s *OpenedStore) Get(ctx context.Context, k reservation.Key) (Stored, error) {
	st, err := s.next.Get(ctx, k)
	if err != nil {
		return st, err
	}
	return st, s.open(ctx, &st)
}

// Arrivals implements Store.
func (s *OpenedStore) Arrivals(ctx context.Context, hotel, date string, limit int, cursor string) (ArrivalsPage, error) {
	page, err := s.next.Arrivals(ctx, hotel, date, limit, cursor)
	if err != nil {
		return page, err
	}
	page.Items, err = s.openAll(ctx, page.Items)
	return page, err
}

// GuestReservations implements Store: guestID (a normalised e-mail) is
// looked up by its blind index.
func (s *OpenedStore) GuestReservations(ctx context.Context, guestID, from, to string) ([]Stored, error) {
	list, err := s.next.GuestReservations(ctx, s.keys.BlindIndex(pii.IndexEmail, guestID), from, to)
	if err != nil {
		return nil, err
	}
	return s.openAll(ctx, list)
}

// ByConfirmation implements Store.
func (s *OpenedStore) ByConfirmation(ctx context.Context, confirmation string, limit int) ([]Stored, error) {
	list, err := s.next.ByConfirmation(ctx, confirmation, limit)
	if err != nil {
		return nil, err
	}
	return s.openAll(ctx, list)
}

// Ready implements Store.
func (s *OpenedStore) Ready(ctx context.Context) error { return s.next.Ready(ctx) }
