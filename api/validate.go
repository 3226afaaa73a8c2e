package api

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the values a caller sends (path segments, query values, the
// lookup body). They come from the data, not from the stores: hotel codes
// are a few characters (H00042) and confirmation numbers a dozen or two,
// far below DynamoDB's 2,048-byte partition key; a value over its limit is
// refused with 400 before any store is asked.
const (
	MaxHotelCodeBytes    = 64
	MaxConfirmationBytes = 128
	MaxSurnameBytes      = 256
	MaxCursorBytes       = 1024
)

// ErrBadKey is returned by a Store that refuses a key as malformed (too
// long for the store, bytes it cannot hold); the handlers answer it like
// an invalid value, never with a 500.
var ErrBadKey = errors.New("api: the store refuses this key")

// errBadValue says which field is wrong and how, never the value.
type errBadValue struct {
	field string
	why   string
}

func (e *errBadValue) Error() string { return e.field + " " + e.why }

// checkText checks one caller-supplied value: non-empty when required, at
// most max bytes, valid UTF-8, no control characters (NUL included) and
// no unassigned or private-use code points either (so that what reaches a
// store is text any store holds as it is).
func checkText(field, v string, max int, required bool) error {
	if v == "" {
		if required {
			return &errBadValue{field, "is required"}
		}
		return nil
	}
	if len(v) > max {
		return &errBadValue{field, "must be at most " + strconv.Itoa(max) + " bytes"}
	}
	if !utf8.ValidString(v) {
		return &errBadValue{field, "must be valid UTF-8"}
	}
	for _, r := range v {
		// Letters, marks, digits, punctuation, symbols, spaces and format
		// characters (joiners some scripts' names need); not control
		// characters, line separators, private-use or unassigned ones.
		if r == utf8.RuneError || !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs, unicode.Cf) {
			return &errBadValue{field, "must not contain control or unassigned characters"}
		}
	}
	return nil
}

// CheckText applies the API's rules for a caller's value (checkText; ""
// allowed) for other servers of the same data, such as the operations
// console. The error names field and the rule, never the value.
func CheckText(field, v string, max int) error { return checkText(field, v, max, false) }

// CheckKeyPart applies the API's rules for a hotel code or confirmation
// number (checkKeyPart: required, no surrounding spaces).
func CheckKeyPart(field, v string, max int) error { return checkKeyPart(field, v, max) }

// checkKeyPart is checkText for a hotel code or confirmation number, which
// also must not be blank or start or end with spaces (no stored key does).
func checkKeyPart(field, v string, max int) error {
	if err := checkText(field, v, max, true); err != nil {
		return err
	}
	if strings.TrimSpace(v) != v {
		return &errBadValue{field, "must not start or end with spaces"}
	}
	return nil
}

// badValueDetail is the problem detail of a refused value: the field and
// the rule, with the limits, never the value itself.
func badValueDetail(err error) string {
	var bv *errBadValue
	if errors.As(err, &bv) {
		return bv.Error()
	}
	return "invalid request value"
}

// logPrefixBytes is how much of a caller-supplied value a log line may
// carry.
const logPrefixBytes = 16

// logValue is the short, sanitised prefix of a caller-supplied value that
// may go into a log line or an error that is logged: at most
// logPrefixBytes of it, every byte outside printable ASCII replaced by
// '?', and its length when it was cut.
func logValue(s string) string {
	n := min(len(s), logPrefixBytes)
	b := make([]byte, 0, n+16)
	for i := 0; i < n; i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			c = '?'
		}
		b = append(b, c)
	}
	if len(s) > n {
		b = fmt.Appendf(b, "...(%d bytes)", len(s))
	}
	return string(b)
}

// redact replaces every occurrence of the caller's values in msg (an
// error about to be logged) by their logValue.
func redact(msg string, values ...string) string {
	for _, v := range values {
		if len(v) <= logPrefixBytes {
			continue
		}
		msg = strings.ReplaceAll(msg, v, logValue(v))
		if q := strconv.Quote(v); q[1:len(q)-1] != v {
			msg = strings.ReplaceAll(msg, q[1:len(q)-1], logValue(v))
		}
	}
	if len(msg) > 1024 {
		msg = msg[:1024] + "...(cut)"
	}
	return msg
}
