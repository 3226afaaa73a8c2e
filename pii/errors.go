package pii

import (
	"errors"
	"fmt"
)

var (
	// ErrUnknownKeyVersion is wrapped when a value names a key version the
	// keyring does not hold (see KeyVersionError).
	ErrUnknownKeyVersion = errors.New("pii: unknown key version")
	// ErrTampered is wrapped when a sealed value fails authentication: it
	// was altered, moved to another field, or sealed under another key.
	ErrTampered = errors.New("pii: sealed value failed authentication (tampered, moved or wrong key)")
	// ErrMalformed is wrapped when a value starts like a sealed value but is
	// not one.
	ErrMalformed = errors.New("pii: malformed sealed value")
	// ErrNotInitialised is returned when the key store holds no keys yet.
	ErrNotInitialised = errors.New("pii: no keys yet; run `resingest keys init`")
	// ErrAlreadyInitialised is returned by Init when keys exist.
	ErrAlreadyInitialised = errors.New("pii: keys already initialised; use `resingest keys rotate` for a new version")
)

// KeyVersionError names the key version a value needs. It never carries
// the value.
type KeyVersionError struct {
	Field   string
	Version string
}

func (e *KeyVersionError) Error() string {
	return fmt.Sprintf("pii: field %s is sealed under key version %q, which this keyring does not hold", e.Field, e.Version)
}

// Unwrap makes errors.Is(err, ErrUnknownKeyVersion) true.
func (e *KeyVersionError) Unwrap() error { return ErrUnknownKeyVersion }

// FieldError says which field could not be opened and why; the value is
// never included.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return fmt.Sprintf("pii: field %s: %v", e.Field, e.Err) }

// Unwrap returns the cause (ErrTampered, ErrMalformed).
func (e *FieldError) Unwrap() error { return e.Err }
