package parse

import "bytes"

// SniffBytes is how much of a message SniffHotelCode reads.
const SniffBytes = 64 << 10

var hotelCodeAttr = []byte("HotelCode")

// SniffHotelCode returns the hotel code a message names, best effort and
// without parsing it: the value of the first HotelCode attribute
// (HotelCode="..." or HotelCode='...', spaces allowed around the '=', the
// name after white space or a namespace prefix's ':') in the message's
// first SniffBytes bytes. It returns "" when there is none, or when that
// first value is not 1 to 64 bytes of printable ASCII without spaces,
// quotes, '<' or '>', or does not end within those bytes. For messages
// that did not parse (dead letters): a parsed record's hotel code is the
// one to trust.
func SniffHotelCode(msg []byte) string {
	b := msg[:min(len(msg), SniffBytes)]
	for off := 0; ; {
		i := bytes.Index(b[off:], hotelCodeAttr)
		if i < 0 {
			return ""
		}
		i += off
		off = i + len(hotelCodeAttr)
		if i == 0 || !(isXMLSpace(b[i-1]) || b[i-1] == ':') {
			continue // part of another name (SupplierHotelCode), or not an attribute
		}
		j := skipXMLSpace(b, off)
		if j == len(b) || b[j] != '=' {
			continue // a longer name (HotelCodeContext), or text
		}
		j = skipXMLSpace(b, j+1)
		if j == len(b) || (b[j] != '"' && b[j] != '\'') {
			continue
		}
		end := bytes.IndexByte(b[j+1:], b[j])
		if end < 0 {
			return "" // the value runs past what is read
		}
		if v := b[j+1 : j+1+end]; plausibleHotelCode(v) {
			return string(v)
		}
		return ""
	}
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipXMLSpace(b []byte, i int) int {
	for i < len(b) && isXMLSpace(b[i]) {
		i++
	}
	return i
}

// plausibleHotelCode: 1-64 bytes of printable ASCII, no space, quote, '<'
// or '>'.
func plausibleHotelCode(v []byte) bool {
	if len(v) == 0 || len(v) > 64 {
		return false
	}
	for _, c := range v {
		if c <= ' ' || c > '~' || c == '"' || c == '\'' || c == '<' || c == '>' {
			return false
		}
	}
	return true
}
