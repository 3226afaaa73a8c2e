package console

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the values a caller sends (the same as the itinerary API's).
const (
	maxHotel        = 64
	maxConfirmation = 128
	maxEmail        = 256
	maxFilter       = 128
)

// value reads a query (or path) value and checks it: at most max bytes of
// valid UTF-8 without control or format characters and without
// surrounding spaces. The error names the field, never its value.
func value(name, v string, max int) (string, error) {
	switch {
	case len(v) > max:
		return "", badRequest("%s: at most %d bytes.", name, max)
	case !utf8.ValidString(v):
		return "", badRequest("%s: not valid UTF-8.", name)
	case strings.ContainsFunc(v, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Co, r) || r == '\u2028' || r == '\u2029'
	}):
		return "", badRequest("%s: control and format characters are not allowed.", name)
	case v != strings.TrimSpace(v):
		return "", badRequest("%s: no leading or trailing spaces.", name)
	}
	return v, nil
}

func query(r *http.Request, name string, max int) (string, error) {
	q := r.URL.Query()
	if len(q[name]) > 1 {
		return "", badRequest("%s: given more than once.", name)
	}
	return value(name, q.Get(name), max)
}
