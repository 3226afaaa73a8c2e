package sinks

import (
	"github.com/resingest/resingest/internal/storeerr"
	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
)

// Record is one reservation on its way to the stores.
type Record struct {
	Reservation reservation.Reservation
	// Version decides whether the write applies (see reservation.Version).
	Version reservation.Version
	// Raw is the message the reservation came from, already redacted.
	// Only the archive sink reads it.
	Raw []byte
	// ArchiveKey is the S3 key of the archived message: the pipeline sets
	// it from the archive's Result.Key before the stores run ("" when
	// archiving is off). No sink writes to a Record.
	ArchiveKey string
	// GuestIndexes, when set, holds the blind indexes of each guest of
	// Reservation (same order): the guests' personal fields are then
	// sealed (package pii). When nil, the fields are plain and stores
	// index the normalised plain values.
	GuestIndexes []pii.GuestIndex
}

// GuestIndex returns the blind indexes of guest i: from GuestIndexes when
// the record is sealed, else the normalised plain values.
func (r *Record) GuestIndex(i int) pii.GuestIndex {
	if i < len(r.GuestIndexes) {
		return r.GuestIndexes[i]
	}
	g := r.Reservation.Guests[i]
	return pii.GuestIndex{
		Email:   pii.Normalize(pii.IndexEmail, g.Email),
		Loyalty: pii.Normalize(pii.IndexLoyalty, g.LoyaltyNumber),
	}
}

// Outcome is what a write did to the store.
type Outcome int

const (
	// Failed means the write did not happen; Result.Err says why.
	Failed Outcome = iota
	// Stored means the record was written (it was newer than the stored one).
	Stored
	// Stale means a newer version was already stored; nothing changed.
	Stale
	// Duplicate means the same version was already stored; nothing changed.
	Duplicate
)

func (o Outcome) String() string {
	switch o {
	case Stored:
		return "stored"
	case Stale:
		return "stale"
	case Duplicate:
		return "duplicate"
	default:
		return "failed"
	}
}

// Result is the outcome of one record of a batch.
type Result struct {
	Outcome Outcome
	Err     error // non-nil exactly when Outcome is Failed
	// Key is where the sink put the record, for a sink that says: the
	// archive's S3 key of a Stored record; "" otherwise.
	Key string
}

// ErrRetryable marks transient failures (connection lost, throttling, a
// timeout): the same write may succeed later. Errors not marked retryable
// are permanent: retrying them cannot help. It is storeerr.ErrRetryable, so
// that store clients below this package (internal/awsclient,
// pipeline/lease) mark errors without importing it.
var ErrRetryable = storeerr.ErrRetryable

// Retryable marks err as transient. It returns nil for nil.
func Retryable(err error) error { return storeerr.Retryable(err) }

// IsRetryable reports whether err was marked transient, or is a
// StoreError of a transient class (throttling, an unreachable store).
// Unknown errors are not retryable.
func IsRetryable(err error) bool { return storeerr.IsRetryable(err) }
