package parse

import (
	"bytes"
	"slices"
)

// Local names (case-insensitive, any prefix) whose values are secrets. Card
// and account numbers keep their last four digits; the others are masked
// whole.
var (
	numberNames = []string{"cardnumber", "maskedcardnumber", "acctnumber", "bankacctnumber", "accountnumber"}
	secretNames = []string{"seriescode", "cvv", "cvc", "cvv2", "password", "pin", "securitycode"}
	// keywords are searched for; every name above contains one of them.
	keywords = []string{"cardnumber", "acctnumber", "accountnumber", "seriescode", "cvv", "cvc", "password", "pin", "securitycode"}
)

// Redact returns a copy of a raw message with card numbers, CVVs, bank
// account numbers and passwords masked, for archives and dead letters:
// attributes and elements with the names above, any prefix, any case. It
// works on bytes, so it also redacts messages that are not well-formed.
// Masking keeps the message's length and markup, so a well-formed message
// stays well-formed, and card numbers keep their last four digits so the
// redacted message extracts the same record. Any other run of 13-19 digits
// that passes the Luhn check is masked as well. Safe for concurrent use.
func Redact(msg []byte) []byte {
	out := bytes.Clone(msg)
	lower := bytes.ToLower(msg)
	for _, kw := range keywords {
		for from := 0; ; {
			i := bytes.Index(lower[from:], []byte(kw))
			if i < 0 {
				break
			}
			from = redactAt(out, lower, from+i, len(kw))
		}
	}
	maskCardRuns(out)
	return out
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == ':'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// redactAt masks the value of the attribute or element whose name contains
// the keyword found at k, if that name is a secret's, and returns where the
// search goes on.
func redactAt(out, lower []byte, k, n int) int {
	s, e := k, k+n
	for s > 0 && isNameByte(lower[s-1]) {
		s--
	}
	for e < len(lower) && isNameByte(lower[e]) {
		e++
	}
	name := lower[s:e]
	local := name
	if c := bytes.LastIndexByte(name, ':'); c >= 0 {
		local = name[c+1:]
	}
	keepLast4 := slices.Contains(numberNames, string(local))
	if !keepLast4 && !slices.Contains(secretNames, string(local)) {
		return e
	}
	switch {
	case s > 0 && lower[s-1] == '<': // an element: mask its content
		gt := bytes.IndexByte(lower[e:], '>')
		if gt < 0 {
			return e
		}
		start := e + gt + 1
		if lower[start-2] == '/' { // <Name ... />
			return start
		}
		end := len(lower)
		if c := bytes.Index(lower[start:], append([]byte("</"), name...)); c >= 0 {
			end = start + c
		}
		maskRange(out[start:end], keepLast4)
		return end
	default: // an attribute: Name = "value"
		j := e
		for j < len(lower) && isSpace(lower[j]) {
			j++
		}
		if j >= len(lower) || lower[j] != '=' {
			return e
		}
		for j++; j < len(lower) && isSpace(lower[j]); j++ {
		}
		if j >= len(lower) || (lower[j] != '"' && lower[j] != '\'') {
			return e
		}
		q := lower[j]
		end := bytes.IndexByte(lower[j+1:], q)
		if end < 0 {
			end = len(lower) - j - 1
		}
		maskRange(out[j+1:j+1+end], keepLast4)
		return j + 1 + end
	}
}

// maskRange masks text outside markup in place: every digit but the last
// four when keepLast4, else every character but whitespace.
func maskRange(b []byte, keepLast4 bool) {
	keep := 0
	if keepLast4 {
		keep = 4
	}
	inTag := false
	for i := len(b) - 1; i >= 0; i-- {
		c := b[i]
		switch {
		case c == '>':
			inTag = true
		case c == '<':
			inTag = false
		case inTag || isSpace(c):
		case keepLast4:
			if c >= '0' && c <= '9' {
				if keep > 0 {
					keep--
				} else {
					b[i] = 'X'
				}
			}
		default:
			b[i] = 'X'
		}
	}
}

// maskCardRuns masks, in place, every run of 13-19 digits that passes the
// Luhn check, keeping its last four digits. Digits may be grouped by single
// spaces or dashes ("4111 1111 1111 1111", "4111-1111-1111-1111").
func maskCardRuns(b []byte) {
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	for i := 0; i < len(b); {
		if !isDigit(b[i]) {
			i++
			continue
		}
		// Extend over digits and single separators between digits.
		j, digits := i, make([]byte, 0, 19)
		for j < len(b) {
			if isDigit(b[j]) {
				digits = append(digits, b[j])
				j++
				continue
			}
			if (b[j] == ' ' || b[j] == '-') && j+1 < len(b) && isDigit(b[j+1]) {
				j++
				continue
			}
			break
		}
		if n := len(digits); n >= 13 && n <= 19 && luhn(digits) {
			keep := 4
			for k := j - 1; k >= i; k-- {
				if isDigit(b[k]) {
					if keep > 0 {
						keep--
					} else {
						b[k] = 'X'
					}
				}
			}
		} else if n > 19 {
			// A longer run may hold a card number inside; check each
			// contiguous part alone.
			maskContiguous(b[i:j])
		}
		i = j
	}
}

// maskContiguous masks Luhn-valid 13-19 digit runs without separators.
func maskContiguous(b []byte) {
	for i := 0; i < len(b); {
		if b[i] < '0' || b[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if n := j - i; n >= 13 && n <= 19 && luhn(b[i:j]) {
			for k := i; k < j-4; k++ {
				b[k] = 'X'
			}
		}
		i = j
	}
}

// luhn reports whether a digit string passes the Luhn checksum.
func luhn(d []byte) bool {
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}
