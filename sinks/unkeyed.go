package sinks

import (
	"errors"
	"fmt"
)

// ErrUnkeyed is wrapped by a store's refusal of a record without a hotel
// code. The pipeline resolves every such record's key (or holds it) before
// any store sees it, so this is a programming error, never the message's
// fault: no row or item is ever stored with an empty hotel code.
var ErrUnkeyed = errors.New("record without a hotel code given to a store (key resolution must run first)")

// CheckKeyed validates rec for a store (reservation.ValidateKeyed); a
// missing hotel code wraps ErrUnkeyed as well as reservation.ErrInvalid.
func CheckKeyed(rec *Record) error {
	r := &rec.Reservation
	if err := r.Validate(); err != nil {
		return err
	}
	if r.HotelCode == "" {
		return fmt.Errorf("%w: %w", ErrUnkeyed, r.ValidateKeyed())
	}
	return nil
}
