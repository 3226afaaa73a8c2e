package pii

import (
	"context"

	"github.com/resingest/resingest/reservation"
)

// GuestIndex holds the blind indexes of one guest.
type GuestIndex struct {
	Email   string
	Loyalty string
}

// guestField is one personal field of a reservation.Guest with the name
// its sealed values are bound to.
type guestField struct {
	name string
	ptr  *string
}

// guestFields lists every personal field of g. Primary and the loyalty
// programme's name are not personal and stay plain.
func guestFields(g *reservation.Guest) []guestField {
	return []guestField{
		{"guest.given_name", &g.GivenName},
		{"guest.surname", &g.Surname},
		{"guest.email", &g.Email},
		{"guest.phone", &g.Phone},
		{"guest.loyalty_number", &g.LoyaltyNumber},
		{"guest.city", &g.City},
		{"guest.postal_code", &g.PostalCode},
		{"guest.country", &g.Country},
	}
}

// SealedVersion is the key version of the first sealed personal field of
// guests; "" when none is sealed (plain or anonymised guests).
func SealedVersion(guests []reservation.Guest) string {
	for i := range guests {
		for _, f := range guestFields(&guests[i]) {
			if v, ok := VersionOf(*f.ptr); ok {
				return v
			}
		}
	}
	return ""
}

// SealGuests returns a sealed copy of guests (the input is not changed)
// and each guest's blind indexes, computed from the plain values.
func (k *Keyring) SealGuests(guests []reservation.Guest) ([]reservation.Guest, []GuestIndex, error) {
	out := make([]reservation.Guest, len(guests))
	idx := make([]GuestIndex, len(guests))
	for i := range guests {
		g := guests[i]
		idx[i] = GuestIndex{Email: k.BlindIndex(IndexEmail, g.Email), Loyalty: k.BlindIndex(IndexLoyalty, g.LoyaltyNumber)}
		for _, f := range guestFields(&g) {
			if IsSealed(*f.ptr) {
				continue // already sealed (re-encryption handles versions)
			}
			v, err := k.Seal(f.name, *f.ptr)
			if err != nil {
				return nil, nil, err
			}
			*f.ptr = v
		}
		out[i] = g
	}
	return out, idx, nil
}

// OpenGuests returns a decrypted copy of guests. Plain values pass through.
func (k *Keyring) OpenGuests(ctx context.Context, guests []reservation.Guest) ([]reservation.Guest, error) {
	out := make([]reservation.Guest, len(guests))
	for i := range guests {
		g := guests[i]
		for _, f := range guestFields(&g) {
			v, err := k.Open(ctx, f.name, *f.ptr)
			if err != nil {
				return nil, err
			}
			*f.ptr = v
		}
		out[i] = g
	}
	return out, nil
}

// Anonymise returns guests with every personal field emptied (retention
// purge); Primary and the loyalty programme stay.
func Anonymise(guests []reservation.Guest) []reservation.Guest {
	out := make([]reservation.Guest, len(guests))
	for i := range guests {
		g := guests[i]
		for _, f := range guestFields(&g) {
			*f.ptr = ""
		}
		out[i] = g
	}
	return out
}

// GuestRewrite turns one reservation's guests into their new form (sealed
// under the current key, anonymised, ...) with their blind indexes;
// changed false leaves them as they are. The stores' rewrite jobs call it.
type GuestRewrite func(ctx context.Context, guests []reservation.Guest) (out []reservation.Guest, idx []GuestIndex, changed bool, err error)

// RewriteStats counts what a store's rewrite job did.
type RewriteStats struct {
	Scanned   int // rows or items read
	Rewritten int // rows or items changed
	Skipped   int // changed by a concurrent writer first: left alone
}

// Reencrypt is the GuestRewrite of re-encryption: every value not sealed
// under the current key version (plain ones included) is sealed under it,
// and the blind indexes are computed from the plain values. changed is
// false when every value already was under the current version.
func (k *Keyring) Reencrypt(ctx context.Context, guests []reservation.Guest) ([]reservation.Guest, []GuestIndex, bool, error) {
	current := k.CurrentVersion()
	out := make([]reservation.Guest, len(guests))
	idx := make([]GuestIndex, len(guests))
	changed := false
	for i := range guests {
		g := guests[i]
		var email, loyalty string
		for _, f := range guestFields(&g) {
			if *f.ptr == "" {
				continue
			}
			plain, err := k.Open(ctx, f.name, *f.ptr)
			if err != nil {
				return nil, nil, false, err
			}
			switch f.ptr {
			case &g.Email:
				email = plain
			case &g.LoyaltyNumber:
				loyalty = plain
			}
			if v, ok := VersionOf(*f.ptr); ok && v == current {
				continue
			}
			if *f.ptr, err = k.Seal(f.name, plain); err != nil {
				return nil, nil, false, err
			}
			changed = true
		}
		out[i] = g
		idx[i] = GuestIndex{Email: k.BlindIndex(IndexEmail, email), Loyalty: k.BlindIndex(IndexLoyalty, loyalty)}
	}
	return out, idx, changed, nil
}
