package parse

import (
	"bytes"
	"regexp"
)

// Names (local, any prefix, case-insensitive) whose values are secrets.
// Card and account numbers keep their last four digits; the others are
// replaced whole.
const (
	numberNames = `[\w.-]*(?:CardNumber|AcctNumber|AccountNumber|BankAcctNumber)`
	secretNames = `(?:SeriesCode|CVV|CVC|CVV2|Password|PIN|SecurityCode)`
)

var (
	numberAttr = regexp.MustCompile(`(?i)(\s(?:[\w.-]+:)?` + numberNames + `\s*=\s*)("[^"]*"|'[^']*')`)
	secretAttr = regexp.MustCompile(`(?i)(\s(?:[\w.-]+:)?` + secretNames + `\s*=\s*)("[^"]*"|'[^']*')`)
	// An element's content up to the next closing tag of any element;
	// nested markup (CardNumber/PlainText) is handled by masking digits only.
	numberElem = regexp.MustCompile(`(?is)(<(?:[\w.-]+:)?` + numberNames + `(?:\s[^>]*)?>)(.*?)(</(?:[\w.-]+:)?` + numberNames + `\s*>)`)
	secretElem = regexp.MustCompile(`(?is)(<(?:[\w.-]+:)?` + secretNames + `(?:\s[^>]*)?>)(.*?)(</(?:[\w.-]+:)?` + secretNames + `\s*>)`)
	digitRun   = regexp.MustCompile(`\d{13,19}`)
)

// Redact returns a copy of a raw message with card numbers, CVVs, bank
// account numbers and passwords masked, for archives and dead letters. It
// works on bytes, so it also redacts messages that are not well-formed; a
// well-formed message stays well-formed, and card numbers keep their last
// four digits so the redacted message extracts the same record. Any other
// run of 13-19 digits that passes the Luhn check is masked as well.
func Redact(msg []byte) []byte {
	out := numberAttr.ReplaceAllFunc(msg, func(m []byte) []byte {
		return maskSubmatch(numberAttr, m, 2, maskKeepLast4)
	})
	out = secretAttr.ReplaceAllFunc(out, func(m []byte) []byte {
		return maskSubmatch(secretAttr, m, 2, maskAllQuoted)
	})
	out = numberElem.ReplaceAllFunc(out, func(m []byte) []byte {
		return maskSubmatch(numberElem, m, 2, maskKeepLast4)
	})
	out = secretElem.ReplaceAllFunc(out, func(m []byte) []byte {
		return maskSubmatch(secretElem, m, 2, maskText)
	})
	return digitRun.ReplaceAllFunc(out, func(m []byte) []byte {
		if !luhn(m) {
			return m
		}
		return maskKeepLast4(m)
	})
}

// maskSubmatch rewrites submatch i of a match with mask.
func maskSubmatch(re *regexp.Regexp, m []byte, i int, mask func([]byte) []byte) []byte {
	idx := re.FindSubmatchIndex(m)
	if idx == nil || idx[2*i] < 0 {
		return m
	}
	var b bytes.Buffer
	b.Write(m[:idx[2*i]])
	b.Write(mask(m[idx[2*i]:idx[2*i+1]]))
	b.Write(m[idx[2*i+1]:])
	return b.Bytes()
}

// maskKeepLast4 replaces every digit but the last four by X.
func maskKeepLast4(v []byte) []byte {
	out := bytes.Clone(v)
	keep := 4
	for i := len(out) - 1; i >= 0; i-- {
		if out[i] >= '0' && out[i] <= '9' {
			if keep > 0 {
				keep--
				continue
			}
			out[i] = 'X'
		}
	}
	return out
}

// maskAllQuoted replaces a quoted attribute value by "XXX".
func maskAllQuoted(v []byte) []byte {
	if len(v) < 2 {
		return v
	}
	return []byte(string(v[0]) + "XXX" + string(v[len(v)-1]))
}

// maskText replaces element text by XXX, keeping any nested tags.
func maskText(v []byte) []byte {
	if bytes.IndexByte(v, '<') < 0 {
		if len(bytes.TrimSpace(v)) == 0 {
			return v
		}
		return []byte("XXX")
	}
	out := bytes.Clone(v)
	inTag := false
	for i, c := range out {
		switch {
		case c == '<':
			inTag = true
		case c == '>':
			inTag = false
		case !inTag && c != ' ' && c != '\n' && c != '\r' && c != '\t':
			out[i] = 'X'
		}
	}
	return out
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
