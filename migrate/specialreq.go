package migrate

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/resingest/resingest/redact"
	"github.com/resingest/resingest/reservation"
)

// The special_requests column of an extract: a JSON array of objects with
// the string members "code", "name" and "text" (reservation.SpecialRequest),
// each optional (missing is ""), or an empty cell for none. It is read by
// hand, not with encoding/json: reflection cost more per row than the rest
// of parseRow, and encoding/json is laxer than the format (it matches keys
// regardless of case, skips unknown ones, takes null for a string and
// replaces invalid escapes), so what it let through would not be what the
// warehouse meant. Anything else is a reject: other members, null or
// non-string values, duplicate members, and what Postgres cannot store (a
// NUL character, a lone UTF-16 surrogate, invalid UTF-8).

// Why a special_requests cell is rejected (the reason never holds the
// cell: rows hold personal data).
var (
	errRequestsFormat = errors.New(`not a JSON array of objects with string "code", "name" and "text"`)
	errRequestsUTF8   = errors.New("not valid UTF-8")
	errRequestsNUL    = errors.New("contains a NUL character")
)

// normalizeSpecialRequests checks a non-empty special_requests cell and
// returns the list in the stream's encoding (reservation.
// AppendSpecialRequests, as Postgres stores it, card-like runs in names
// and texts masked), "" for an empty list.
// A cell already in that encoding is returned as is, without a copy.
func normalizeSpecialRequests(cell string) (string, error) {
	var room [4]reservation.SpecialRequest // on the stack: most rows have 1 or 2
	list, err := decodeSpecialRequests(room[:0], cell)
	if err != nil || len(list) == 0 {
		return "", err
	}
	// Names and texts are free text, masked as the stream's parser masks
	// them (redact.FreeText), so no store keeps a full card number.
	for i := range list {
		list[i].Name, list[i].Text = redact.FreeText(list[i].Name), redact.FreeText(list[i].Text)
	}
	var buf [512]byte
	b := reservation.AppendSpecialRequests(buf[:0], list)
	if string(b) == cell {
		return cell, nil
	}
	return string(b), nil
}

// decodeSpecialRequests appends the requests of a special_requests cell
// (see above) to dst. Unescaped values share the cell's memory.
func decodeSpecialRequests(dst []reservation.SpecialRequest, cell string) ([]reservation.SpecialRequest, error) {
	if !utf8.ValidString(cell) {
		return nil, errRequestsUTF8
	}
	p := jsonCursor{s: cell}
	if !p.skip('[') {
		return nil, errRequestsFormat
	}
	list := dst
	if !p.skip(']') {
		for {
			q, err := p.request()
			if err != nil {
				return nil, err
			}
			list = append(list, q)
			if p.skip(']') {
				break
			}
			if !p.skip(',') {
				return nil, errRequestsFormat
			}
		}
	}
	if p.space(); p.i != len(p.s) {
		return nil, errRequestsFormat
	}
	return list, nil
}

// jsonCursor reads JSON from s, which is valid UTF-8, at i.
type jsonCursor struct {
	s string
	i int
}

// space skips JSON whitespace.
func (p *jsonCursor) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// skip consumes c after whitespace, if it is there.
func (p *jsonCursor) skip(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// request reads one {"code","name","text"} object.
func (p *jsonCursor) request() (reservation.SpecialRequest, error) {
	var q reservation.SpecialRequest
	if !p.skip('{') {
		return q, errRequestsFormat
	}
	if p.skip('}') {
		return q, nil
	}
	var seen [3]bool
	for {
		key, err := p.str()
		if err != nil {
			return q, err
		}
		if !p.skip(':') {
			return q, errRequestsFormat
		}
		val, err := p.str()
		if err != nil {
			return q, err
		}
		var n int
		switch key {
		case "code":
			n, q.Code = 0, val
		case "name":
			n, q.Name = 1, val
		case "text":
			n, q.Text = 2, val
		default:
			return q, errRequestsFormat
		}
		if seen[n] {
			return q, errRequestsFormat
		}
		seen[n] = true
		if p.skip('}') {
			return q, nil
		}
		if !p.skip(',') {
			return q, errRequestsFormat
		}
	}
}

// str reads a JSON string. Without escapes it is a substring of s.
func (p *jsonCursor) str() (string, error) {
	if !p.skip('"') {
		return "", errRequestsFormat
	}
	start := p.i
	for ; p.i < len(p.s); p.i++ {
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			return p.s[start : p.i-1], nil
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return "", errRequestsFormat
		}
	}
	return "", errRequestsFormat
}

// escaped reads the rest of a string that started at start, from its
// first backslash (at i) on.
func (p *jsonCursor) escaped(start int) (string, error) {
	b := []byte(p.s[start:p.i])
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(b), nil
		case c < 0x20:
			return "", errRequestsFormat
		case c != '\\':
			b = append(b, c)
			p.i++
			continue
		}
		if p.i+1 == len(p.s) {
			return "", errRequestsFormat
		}
		e := p.s[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", errRequestsFormat
			}
			if utf16.IsSurrogate(r) {
				// Only a high surrogate followed by a low one is a
				// character; Postgres' jsonb refuses anything else.
				if !p.hasPrefix(`\u`) {
					return "", errRequestsFormat
				}
				p.i += 2
				lo, ok := p.hex4()
				if r = utf16.DecodeRune(r, lo); !ok || r == utf8.RuneError {
					return "", errRequestsFormat
				}
			}
			if r == 0 {
				return "", errRequestsNUL // neither text nor jsonb holds NUL
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", errRequestsFormat
		}
	}
	return "", errRequestsFormat
}

func (p *jsonCursor) hasPrefix(s string) bool {
	return len(p.s)-p.i >= len(s) && p.s[p.i:p.i+len(s)] == s
}

// hex4 reads the 4 hex digits of a \u escape.
func (p *jsonCursor) hex4() (rune, bool) {
	if len(p.s)-p.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(p.s[p.i : p.i+4]) {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}
