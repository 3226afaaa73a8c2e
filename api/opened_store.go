package api

import (
	"context"
	"errors"
	"fmt"
	"sync"

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

	decoyOnce sync.Once
	decoy     []reservation.Guest // sealed; opened when a Get finds nothing
}

// guestSealer seals guests (pii.Keyring does).
type guestSealer interface {
	SealGuests(guests []reservation.Guest) ([]reservation.Guest, []pii.GuestIndex, error)
}

// decoyGuests are sealed once and opened on every Get that finds nothing,
// so that a miss costs the decryption a found reservation does (a lookup
// must not tell by its time whether a confirmation exists).
var decoyGuests = []reservation.Guest{
	{Primary: true, GivenName: "Decoy", Surname: "Decoy-Surname", Email: "decoy@example.invalid", Phone: "+10000000000",
		LoyaltyNumber: "0000000000", City: "Nowhere", PostalCode: "00000", Country: "ZZ"},
	{GivenName: "Decoy", Surname: "Decoy-Surname", Email: "decoy2@example.invalid", City: "Nowhere", Country: "ZZ"},
}

// openDecoy opens the decoy guests (sealing them first, once, when the
// Opener can seal) and discards them.
func (s *OpenedStore) openDecoy(ctx context.Context) {
	s.decoyOnce.Do(func() {
		if sealer, ok := s.keys.(guestSealer); ok {
			if g, _, err := sealer.SealGuests(decoyGuests); err == nil {
				s.decoy = g
			}
		}
	})
	if s.decoy != nil {
		_, _ = s.keys.OpenGuests(ctx, s.decoy)
	}
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

// Get implements Store. A miss opens decoy guests, so that it takes as
// long as a hit.
func (s *OpenedStore) Get(ctx context.Context, k reservation.Key) (Stored, error) {
	st, err := s.next.Get(ctx, k)
	if errors.Is(err, ErrNotFound) {
		s.openDecoy(ctx)
	}
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

// KeysByConfirmation implements Store.
func (s *OpenedStore) KeysByConfirmation(ctx context.Context, confirmation string, limit int) ([]reservation.Key, error) {
	return s.next.KeysByConfirmation(ctx, confirmation, limit)
}

// Ready implements Store.
func (s *OpenedStore) Ready(ctx context.Context) error { return s.next.Ready(ctx) }
