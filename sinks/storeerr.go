package sinks

import "github.com/resingest/resingest/internal/storeerr"

// StoreError is the failure of a store as a whole (a missing bucket or
// table, refused credentials, a KMS key, throttling, a frozen or
// unreachable server). It is never a per-record refusal: a sink returns it
// as the batch's error or as the error of the records it could not write,
// and the pipeline retries them with backoff instead of dead-lettering
// them. Find it with errors.As or AsStoreError.
type StoreError = storeerr.Error

// StoreClass is the kind of a StoreError.
type StoreClass = storeerr.Class

// Store failure classes (see package internal/storeerr).
const (
	ClassMissing     = storeerr.Missing
	ClassPermission  = storeerr.Permission
	ClassKMS         = storeerr.KMS
	ClassThrottled   = storeerr.Throttled
	ClassUnavailable = storeerr.Unavailable
)

// AsStoreError returns the StoreError in err's chain.
func AsStoreError(err error) (*StoreError, bool) { return storeerr.As(err) }

// NewStoreError wraps err as a failure of store (see storeerr.New).
func NewStoreError(store string, class StoreClass, fix string, err error) error {
	return storeerr.New(store, class, fix, err)
}
