package parse

import (
	"errors"
	"fmt"
	"regexp"
)

// Error classes. Every error returned by Parse wraps exactly one of them, so
// callers can tell them apart with errors.Is. All of them are permanent: the
// same bytes will always fail the same way (poison messages).
var (
	ErrTooLarge       = errors.New("message too large")
	ErrNotXML         = errors.New("not XML")
	ErrMalformed      = errors.New("malformed XML")
	ErrTruncated      = errors.New("truncated XML")
	ErrDTD            = errors.New("DTD or entity declaration not allowed")
	ErrTooDeep        = errors.New("nesting too deep")
	ErrUnknownMessage = errors.New("unknown message type")
	ErrNoReservation  = errors.New("no reservation in message")
	ErrNoConfirmation = errors.New("reservation without confirmation number")
	ErrBadValue       = errors.New("invalid value")
)

// Error is a rejected message. It never carries message content beyond
// element and field names, so it is safe to log.
type Error struct {
	Kind   error  // one of the Err* classes above
	Detail string // what exactly is wrong, without message content
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Detail
}

// Unwrap returns the error class.
func (e *Error) Unwrap() error { return e.Kind }

func newError(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Detail: scrubDigits(fmt.Sprintf(format, args...))}
}

// longDigits matches runs that could be card or account numbers.
var longDigits = regexp.MustCompile(`\d[\d -]{11,}\d`)

// scrubDigits masks long digit runs in text that may have come from a
// message (decoder errors quote names), keeping error texts PAN-free.
func scrubDigits(s string) string {
	return longDigits.ReplaceAllStringFunc(s, func(m string) string {
		digits := 0
		for _, c := range m {
			if c >= '0' && c <= '9' {
				digits++
			}
		}
		if digits < 12 {
			return m
		}
		return "[redacted]"
	})
}
