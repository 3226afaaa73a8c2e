package console

import (
	"net/http"

	"github.com/resingest/resingest/api"
)

// Limits of the values a caller sends: the itinerary API's (hotel codes,
// confirmation numbers), and for e-mail addresses and filters its
// surname limit.
const (
	maxHotel        = api.MaxHotelCodeBytes
	maxConfirmation = api.MaxConfirmationBytes
	maxEmail        = api.MaxSurnameBytes
	maxFilter       = api.MaxConfirmationBytes
)

// value checks a query (or path) value with the API's rules (at most max
// bytes of valid UTF-8 without control, unassigned or private-use
// characters) and without surrounding spaces; "" is allowed. The error
// names the field, never its value.
func value(name, v string, max int) (string, error) {
	if v == "" {
		return "", nil
	}
	if err := api.CheckKeyPart(name, v, max); err != nil {
		return "", badRequest("%v.", err)
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
