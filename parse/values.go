package parse

import (
	"errors"
	"math/big"
	"strconv"
	"strings"
	"time"
)

var errValue = errors.New("bad value")

// timeLayouts are tried in order after a space between date and time has
// been replaced by "T". Go accepts a fractional second after the seconds
// field even when the layout has none.
var timeLayouts = []string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04Z0700",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseTime reads the date-time forms messages use. Values without an
// offset are UTC.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + strings.TrimLeft(s[11:], " ")
	}
	// "+07" style offsets: Go wants minutes too.
	if n := len(s); n > 13 && (s[n-3] == '+' || s[n-3] == '-') && strings.IndexByte(s, 'T') > 0 && strings.Count(s[strings.IndexByte(s, 'T'):], ":") >= 1 {
		s += ":00"
	}
	layouts := timeLayouts
	if len(s) == 10 {
		// Only the date-only layout can match ten characters; skipping the
		// others saves their parse errors.
		layouts = timeLayouts[len(timeLayouts)-1:]
	}
	for _, layout := range layouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errValue
}

// normalizeTime renders a date-time as RFC 3339 in UTC ("" stays "").
func normalizeTime(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	t, err := parseTime(s)
	if err != nil {
		return "", err
	}
	// Most messages already carry the canonical form: keep the string
	// instead of allocating an equal one.
	var buf [64]byte
	b := t.UTC().AppendFormat(buf[:0], time.RFC3339Nano)
	if string(b) == s {
		return s, nil
	}
	return string(b), nil
}

// stayDate reads a stay boundary: the calendar date as written, time part
// dropped.
func stayDate(s string) (time.Time, error) {
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, err
	}
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
}

// addDuration adds a stay length: "P4N" (nights), "P5D" (days), "P2W"
// (weeks), optionally with a zero time part such as "P3DT0H".
func addDuration(start time.Time, dur string) (time.Time, error) {
	d := strings.ToUpper(strings.TrimSpace(dur))
	if i := strings.IndexByte(d, 'T'); i > 0 {
		if strings.Trim(d[i+1:], "0HMS") != "" {
			return time.Time{}, errValue
		}
		d = d[:i]
	}
	if len(d) < 3 || d[0] != 'P' {
		return time.Time{}, errValue
	}
	n, err := strconv.Atoi(d[1 : len(d)-1])
	if err != nil || n < 0 || n > 3660 {
		return time.Time{}, errValue
	}
	switch d[len(d)-1] {
	case 'N', 'D':
		return start.AddDate(0, 0, n), nil
	case 'W':
		return start.AddDate(0, 0, 7*n), nil
	}
	return time.Time{}, errValue
}

// decimal validates a decimal amount and returns it as written (trimmed).
func decimal(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if plainDecimal(s) {
		return s, nil
	}
	if _, ok := new(big.Rat).SetString(s); !ok || strings.ContainsAny(s, "/eE") {
		return "", errValue
	}
	return s, nil
}

// plainDecimal reports digits with an optional minus and fraction ("-12.50"),
// which big.Rat always accepts; anything else is left to it.
func plainDecimal(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits, dot := 0, false
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && digits > 0 && i+1 < len(s):
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

// sumDecimals adds decimal strings exactly, keeping the largest scale seen.
func sumDecimals(values []string) string {
	total := new(big.Rat)
	scale, n := 0, 0
	for _, v := range values {
		if v == "" {
			continue
		}
		r, ok := new(big.Rat).SetString(v)
		if !ok {
			continue
		}
		total.Add(total, r)
		n++
		if i := strings.IndexByte(v, '.'); i >= 0 && len(v)-i-1 > scale {
			scale = len(v) - i - 1
		}
	}
	if n == 0 {
		return ""
	}
	return total.FloatString(scale)
}

// count reads a non-negative integer; "" gives def.
func count(s string, def int) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 100000 {
		return 0, errValue
	}
	return n, nil
}

// last4 returns the last four digits of a card number, mask or token mask
// ("xxxxxxxxxxxx1111", "4111 1111 1111 1111"), or "" when the value does not
// end in four digits (a placeholder such as "N/A").
func last4(s string) string {
	digits := make([]byte, 0, 4)
	for i := len(s) - 1; i >= 0 && len(digits) < 4; i-- {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == ' ' || c == '-' || c == '\n' || c == '\r' || c == '\t':
		default:
			return ""
		}
	}
	if len(digits) < 4 {
		return ""
	}
	return string([]byte{digits[3], digits[2], digits[1], digits[0]})
}
