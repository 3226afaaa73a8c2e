package redact

import (
	"bytes"
)

// Redact returns a copy of a raw message with card and secret data masked,
// for archives and dead letters. The archive is the replay source, so a
// redacted message extracts exactly the same record as the original except
// `payment` (whose last4 stays right):
//
//   - card and account numbers in their own attributes and elements
//     (CardNumber, MaskedCardNumber, Token, BankAcctNumber, AccountNumber,
//     any prefix, any case) keep their last four digits; CVVs (SeriesCode),
//     passwords and PINs are masked whole, including the text of every
//     element inside such an element (CardNumber/PlainText);
//   - card-like runs (13-19 digits passing the Luhn check, digit groups
//     joined across single spaces or dashes) are masked, keeping their last
//     four digits, in free text only: comments, CDATA and text of elements
//     that are not identifiers, and attributes that are neither identifiers
//     nor fields the built-in mappings extract;
//   - identifiers, phones, e-mails, loyalty and reservation numbers, message
//     ids and timestamps in their own elements and attributes are never
//     touched, even when they pass the Luhn check (see redactnames.go).
//
// It works on bytes in one pass, so it also redacts messages that are not
// well-formed. Masking keeps the message's length and markup, so a
// well-formed message stays well-formed. Safe for concurrent use.
func Redact(msg []byte) []byte {
	out := bytes.Clone(msg)
	r := redactor{b: out, names: redactNames()}
	r.stack = r.buf[:0]
	r.run()
	return out
}

// FreeText masks the card-like runs of a value extracted from free text
// exactly as Redact masks them in the message (13-19 digits passing the
// Luhn check, in groups joined by single spaces or dashes, keeping the
// last four digits): for record fields the parser reads from free text,
// such as special requests, so that the record holds no full card number
// and the archived message extracts the same value. Safe for concurrent
// use.
func FreeText(s string) string {
	digits := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			digits++
		}
	}
	if digits < minCardDigits {
		return s
	}
	b := []byte(s)
	maskCardRuns(b)
	return string(b)
}

// maxRedactDepth bounds the element stack; deeper elements count as free
// text inheriting their ancestors' secrecy.
const maxRedactDepth = 256

// frame is one open element: whether its text is a secret (inherited from
// the nearest secret ancestor) and whether it is an identifier.
type frame struct {
	secret    nameClass // classNone, classNumber or classSecret
	protected bool
}

type redactor struct {
	b     []byte
	names *nameTable
	stack []frame
	extra int // open elements beyond maxRedactDepth
	buf   [32]frame
}

func (r *redactor) run() {
	b := r.b
	for i := 0; i < len(b); {
		lt := bytes.IndexByte(b[i:], '<')
		if lt < 0 {
			r.text(b[i:])
			return
		}
		r.text(b[i : i+lt])
		i += lt
		rest := b[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			body, next := until(b, i+4, "-->")
			maskCardRuns(body)
			i = next
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			body, next := until(b, i+9, "]]>")
			r.text(body)
			i = next
		case bytes.HasPrefix(rest, []byte("<?")):
			_, i = until(b, i+2, "?>")
		case bytes.HasPrefix(rest, []byte("<!")):
			// A DOCTYPE: the parser refuses it, but it may still hold a
			// card in an entity value.
			body, next := until(b, i+2, ">")
			maskCardRuns(body)
			i = next
		case bytes.HasPrefix(rest, []byte("</")):
			r.pop()
			_, i = until(b, i+2, ">")
		default:
			i = r.tag(i)
		}
	}
}

// until returns b[from:] up to the terminator and the index after it (the
// whole rest when there is no terminator).
func until(b []byte, from int, term string) (body []byte, next int) {
	if from > len(b) {
		from = len(b)
	}
	k := bytes.Index(b[from:], []byte(term))
	if k < 0 {
		return b[from:], len(b)
	}
	return b[from : from+k], from + k + len(term)
}

// text masks a text node (or CDATA section) of the innermost open element.
func (r *redactor) text(t []byte) {
	if len(t) == 0 {
		return
	}
	if len(r.stack) == 0 {
		maskCardRuns(t)
		return
	}
	top := r.stack[len(r.stack)-1]
	switch {
	case top.secret == classNumber:
		maskDigits(t)
	case top.secret == classSecret:
		maskAll(t)
	case top.protected && r.extra == 0:
	default:
		maskCardRuns(t)
	}
}

func (r *redactor) pop() {
	switch {
	case r.extra > 0:
		r.extra--
	case len(r.stack) > 0:
		r.stack = r.stack[:len(r.stack)-1]
	}
}

func (r *redactor) push(f frame) {
	if len(r.stack) >= maxRedactDepth || r.extra > 0 {
		r.extra++
		return
	}
	r.stack = append(r.stack, f)
}

// tag reads the start tag at b[i] == '<', masks its attribute values and
// opens the element unless it closes itself. It returns where the scan
// goes on.
func (r *redactor) tag(i int) int {
	b := r.b
	j := i + 1
	for j < len(b) && !isSpace(b[j]) && b[j] != '>' && b[j] != '/' && b[j] != '<' {
		j++
	}
	name := b[i+1 : j]
	selfClosing := false
	for j < len(b) {
		c := b[j]
		switch {
		case isSpace(c):
			j++
			continue
		case c == '>':
			j++
		case c == '/' && j+1 < len(b) && b[j+1] == '>':
			j += 2
			selfClosing = true
		case c == '<': // not well-formed: a new tag starts
		default:
			j = r.attribute(j)
			continue
		}
		break
	}
	parent := frame{}
	if len(r.stack) > 0 {
		parent = r.stack[len(r.stack)-1]
	}
	if !selfClosing {
		f := frame{secret: parent.secret}
		switch cls := r.names.element(name); cls {
		case classNumber, classSecret:
			f.secret = cls
		case classIdentifier:
			f.protected = true
		}
		r.push(f)
	}
	return j
}

// attribute reads one attribute at b[j] and masks its value by its name; it
// returns the index after it (always > j).
func (r *redactor) attribute(j int) int {
	b := r.b
	s := j
	for j < len(b) && !isSpace(b[j]) && b[j] != '=' && b[j] != '>' && b[j] != '<' && !(b[j] == '/' && j+1 < len(b) && b[j+1] == '>') {
		j++
	}
	if j == s { // a stray '/' or '='
		return j + 1
	}
	name := b[s:j]
	for j < len(b) && isSpace(b[j]) {
		j++
	}
	if j >= len(b) || b[j] != '=' {
		return j
	}
	for j++; j < len(b) && isSpace(b[j]); j++ {
	}
	if j >= len(b) {
		return j
	}
	var value []byte
	next := 0
	if q := b[j]; q == '"' || q == '\'' {
		end := bytes.IndexByte(b[j+1:], q)
		if end < 0 {
			end = len(b) - j - 1
		}
		value, next = b[j+1:j+1+end], min(j+2+end, len(b))
	} else { // unquoted: not well-formed
		e := j
		for e < len(b) && !isSpace(b[e]) && b[e] != '>' {
			e++
		}
		value, next = b[j:e], e
	}
	switch r.names.attribute(name) {
	case classNumber:
		maskDigits(value)
	case classSecret:
		maskAll(value)
	case classIdentifier:
	default:
		maskCardRuns(value)
	}
	return max(next, s+1)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// maskDigits masks every digit of a card or account number but the last
// four.
func maskDigits(b []byte) {
	keep := 4
	for i := len(b) - 1; i >= 0; i-- {
		if isDigit(b[i]) {
			if keep > 0 {
				keep--
			} else {
				b[i] = 'X'
			}
		}
	}
}

// maskAll masks every character of a secret but whitespace.
func maskAll(b []byte) {
	for i, c := range b {
		if !isSpace(c) {
			b[i] = 'X'
		}
	}
}

// Card-like runs: 13-19 digits in all; groups holds that many groups of a
// chain at a time (a chain of more is checked in slices).
const (
	minCardDigits = 13
	maxCardDigits = 19
	maxRunGroups  = 64
)

// span is one group of digits, b[start:end].
type span struct{ start, end int }

// maskCardRuns masks, in place, every card-like run of free text: 13-19
// digits passing the Luhn check, contiguous or in groups joined by single
// spaces or dashes ("4111 1111 1111 1111", "3782-822463-10005"), keeping
// the last four digits. In a longer chain of groups every window of
// consecutive groups is checked, the longest first.
func maskCardRuns(b []byte) {
	var groups [maxRunGroups]span
	for i := 0; i < len(b); {
		if !isDigit(b[i]) {
			i++
			continue
		}
		n, j := 0, i
		for {
			s := j
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			if n == len(groups) {
				// Windows starting in the older groups lie wholly in the
				// buffer; check them and keep the last window's worth.
				keep := maxCardDigits - 1
				checkWindows(b, groups[:n], n-keep)
				n = copy(groups[:], groups[n-keep:n])
			}
			groups[n] = span{s, j}
			n++
			if j+1 < len(b) && (b[j] == ' ' || b[j] == '-') && isDigit(b[j+1]) {
				j++
				continue
			}
			break
		}
		checkWindows(b, groups[:n], n)
		i = j
	}
}

// checkWindows masks Luhn-valid windows of consecutive groups that start in
// groups[:starts]. A group masked already ends a window.
func checkWindows(b []byte, groups []span, starts int) {
	for a := 0; a < starts; a++ {
		// The longest window from a within the digit limit.
		digits, e := 0, a
		for ; e < len(groups); e++ {
			g := groups[e]
			if d := g.end - g.start; digits+d > maxCardDigits || !allDigits(b[g.start:g.end]) {
				break
			} else {
				digits += d
			}
		}
		for e--; e >= a && digits >= minCardDigits; e-- {
			if luhnGroups(b, groups[a:e+1]) {
				maskGroups(b, groups[a:e+1])
				a = e
				break
			}
			digits -= groups[e].end - groups[e].start
		}
	}
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

func luhnGroups(b []byte, groups []span) bool {
	sum, double := 0, false
	for g := len(groups) - 1; g >= 0; g-- {
		for i := groups[g].end - 1; i >= groups[g].start; i-- {
			n := int(b[i] - '0')
			if double {
				if n *= 2; n > 9 {
					n -= 9
				}
			}
			sum += n
			double = !double
		}
	}
	return sum%10 == 0
}

func maskGroups(b []byte, groups []span) {
	keep := 4
	for g := len(groups) - 1; g >= 0; g-- {
		for i := groups[g].end - 1; i >= groups[g].start; i-- {
			if keep > 0 {
				keep--
			} else {
				b[i] = 'X'
			}
		}
	}
}
