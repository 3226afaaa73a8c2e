package api

import (
	"context"
	"errors"

	"github.com/resingest/resingest/reservation"
)

// ErrNotFound is returned by a Store when no reservation has the key.
var ErrNotFound = errors.New("api: reservation not found")

// ErrBadCursor is returned by a Store for a page cursor it did not make
// for the same hotel and date.
var ErrBadCursor = errors.New("api: invalid page cursor")

// Stored is a reservation as a Store returns it.
type Stored struct {
	Reservation reservation.Reservation
	// Version is the stored reservation.Version.String().
	Version string
}

// ArrivalsPage is one page of a hotel's arrivals; Cursor is "" on the last
// page (a non-empty cursor may still lead to an empty page).
type ArrivalsPage struct {
	Items  []Stored
	Cursor string
}

// Store is what the API reads. Implementations must be safe for
// concurrent use.
type Store interface {
	// Get returns the reservation with key k, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, k reservation.Key) (Stored, error)
	// Arrivals returns at most limit (> 0) reservations of hotel arriving
	// on date (YYYY-MM-DD) ordered by confirmation, after cursor ("" for
	// the first page).
	Arrivals(ctx context.Context, hotel, date string, limit int, cursor string) (ArrivalsPage, error)
	// GuestReservations returns the reservations of guestID (a normalised
	// e-mail address, or its blind index when guests are sealed: see
	// OpenedStore) arriving in [from, to] (either "" for no bound),
	// ordered by arrival.
	GuestReservations(ctx context.Context, guestID, from, to string) ([]Stored, error)
	// KeysByConfirmation returns the keys of the reservations with this
	// confirmation number in any hotel, at most limit of them, in hotel
	// order.
	KeysByConfirmation(ctx context.Context, confirmation string, limit int) ([]reservation.Key, error)
	// Ready reports whether the store answers.
	Ready(ctx context.Context) error
}
