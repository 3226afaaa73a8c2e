// Package storeerr types the failures of a store as a whole (a missing
// bucket or table, refused credentials, a KMS key, throttling, a frozen or
// unreachable server) as opposed to the refusal of one record. It is a leaf
// package so that every store client (sinks, pii, awsclient) can mark its
// errors; package sinks re-exports it as sinks.StoreError.
package storeerr

import (
	"errors"
	"fmt"
)

// Class says what kind of store failure an Error is. It is also the
// "class" label of the retry metrics.
type Class string

const (
	// Missing: the bucket, table, schema or database does not exist.
	Missing Class = "missing"
	// Permission: credentials refused, expired or not allowed.
	Permission Class = "permission"
	// KMS: the encryption key is missing, disabled or not usable.
	KMS Class = "kms"
	// Throttled: the store asks us to slow down.
	Throttled Class = "throttled"
	// Unavailable: the store did not answer in time, refused or lost the
	// connection, or failed on its side.
	Unavailable Class = "unavailable"
)

// Transient reports whether a failure of class c may end by itself
// (throttling, an unreachable store). The others need an operator, though
// they also end once the store is fixed.
func (c Class) Transient() bool { return c == Throttled || c == Unavailable }

// Error is the failure of a store as a whole: no record is at fault, so
// none may be dead-lettered for it; the batch is retried or the worker
// stops. It never carries record data.
type Error struct {
	Store string // "archive", "postgres", "dynamo", "kms"
	Class Class
	// Fix tells the operator what to do, e.g. "create it or fix
	// --archive-bucket"; may be empty.
	Fix string
	Err error // the cause
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: store %s: %v", e.Store, e.Class, e.Err)
	if e.Fix != "" {
		s += " (" + e.Fix + ")"
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns a store error of store and class wrapping err, or nil for a
// nil err. An err that already is a store error is returned as is.
func New(store string, class Class, fix string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := As(err); ok {
		return err
	}
	return &Error{Store: store, Class: class, Fix: fix, Err: err}
}

// As returns the store error in err's chain.
func As(err error) (*Error, bool) {
	var se *Error
	if errors.As(err, &se) {
		return se, true
	}
	return nil, false
}

// ErrRetryable marks transient failures (connection lost, throttling, a
// timeout): the same write may succeed later. Wrap it with
// fmt.Errorf("...: %w", ErrRetryable) or use Retryable. Errors not marked
// retryable are permanent: retrying them cannot help.
var ErrRetryable = errors.New("retryable")

// retryableError joins a cause with ErrRetryable without losing either.
type retryableError struct{ cause error }

func (e *retryableError) Error() string { return e.cause.Error() }
func (e *retryableError) Unwrap() []error {
	return []error{e.cause, ErrRetryable}
}

// Retryable marks err as transient. It returns nil for nil.
func Retryable(err error) error {
	if err == nil || errors.Is(err, ErrRetryable) {
		return err
	}
	return &retryableError{cause: err}
}

// IsRetryable reports whether err was marked transient, or is a
// store Error of a transient class (throttling, an unreachable store).
// Unknown errors are not retryable.
func IsRetryable(err error) bool {
	if errors.Is(err, ErrRetryable) {
		return true
	}
	se, ok := As(err)
	return ok && se.Class.Transient()
}
