package parse

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// tape is the fast engine's view of a message: one hand-written pass over
// the bytes records every element as a flat record (document order, so an
// element's descendants are the records right after it), its attributes and
// its text chunks. Strings are substrings of one copy of the message, so a
// value that needs no entity decoding costs no allocation. A tape is reused
// from message to message.
//
// The scanner accepts only what encoding/xml in strict mode accepts (and
// buildDOM then keeps): on anything else — a DTD, an unknown entity, a
// non-UTF-8 encoding, a non-ASCII name, a processing instruction it is not
// sure about, any well-formedness error, a limit — it gives up and the
// message goes to the xpath engine, which then accepts it or rejects it
// with its own error class. So the fast engine never decides a rejection.
type tape struct {
	src     string
	elems   []telem // elems[0] is the document node
	attrs   []tattr
	texts   []string
	ns      []nsDecl // in-scope namespace declarations while scanning
	nsDepth []int32  // depth of the element that declared each of ns
	open    []string // qualified names of the open elements
	buf     []byte   // decoding scratch
}

// telem is one element: its children are the records between it and end
// whose parent it is.
type telem struct {
	name, ns     string // local name, namespace URI (as encoding/xml resolves it)
	parent, end  int32  // end: index after the last descendant
	attr0, attr1 int32  // attributes, in document order
	text0, text1 int32  // text chunks of the element and its descendants
	depth        int32
}

type tattr struct{ name, value, prefix string }

type nsDecl struct{ prefix, uri string }

const xmlNamespaceURL = "http://www.w3.org/XML/1998/namespace"

func (t *tape) reset(src string) {
	t.src = src
	t.elems = append(t.elems[:0], telem{parent: -1})
	t.attrs, t.texts, t.ns, t.nsDepth, t.open = t.attrs[:0], t.texts[:0], t.ns[:0], t.nsDepth[:0], t.open[:0]
}

// scan fills the tape from src; false means "not for the fast engine".
func (t *tape) scan(src string, maxDepth int) bool {
	t.reset(src)
	s := src
	n := len(s)
	cur := int32(0)
	depth := 0
	sawRoot := false
	i := 0
	for i < n {
		if s[i] != '<' {
			j, decode, ok := scanText(s, i, 0)
			if !ok {
				return false
			}
			if depth == 0 {
				for k := i; k < j; k++ {
					if c := s[k]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
						return false
					}
				}
			} else {
				v := s[i:j]
				if decode {
					if v, ok = t.decode(v); !ok {
						return false
					}
				}
				t.texts = append(t.texts, v)
			}
			i = j
			continue
		}
		if i+1 >= n {
			return false
		}
		switch s[i+1] {
		case '/':
			j := i + 2
			name, k := scanName(s, j)
			if k == j || depth == 0 || name != t.open[len(t.open)-1] {
				return false
			}
			k = skipSpace(s, k)
			if k >= n || s[k] != '>' {
				return false
			}
			t.closeElem(cur)
			cur = t.elems[cur].parent
			depth--
			i = k + 1
		case '?':
			j, ok := scanPI(s, i)
			if !ok {
				return false
			}
			i = j
		case '!':
			switch {
			case strings.HasPrefix(s[i:], "<!--"):
				j, ok := scanComment(s, i+4)
				if !ok {
					return false
				}
				i = j
			case strings.HasPrefix(s[i:], "<![CDATA[") && depth > 0:
				end := strings.Index(s[i+9:], "]]>")
				if end < 0 {
					return false
				}
				v := s[i+9 : i+9+end]
				decode := false
				for k := 0; k < len(v); {
					c := v[k]
					switch {
					case c == '\r':
						decode = true
					case c < 0x20 && c != '\t' && c != '\n':
						return false
					case c >= utf8.RuneSelf:
						r, size := utf8.DecodeRuneInString(v[k:])
						if !validRune(r, size) {
							return false
						}
						k += size
						continue
					}
					k++
				}
				if decode {
					v = t.normalizeCR(v)
				}
				t.texts = append(t.texts, v)
				i += 9 + end + 3
			default:
				return false // DOCTYPE, ENTITY, CDATA outside the root...
			}
		default:
			if depth == 0 && sawRoot {
				return false
			}
			depth++
			if depth > maxDepth {
				return false
			}
			sawRoot = true
			j, selfClose, ok := t.startElem(s, i+1, cur, int32(depth))
			if !ok {
				return false
			}
			cur = int32(len(t.elems) - 1)
			if selfClose {
				t.closeElem(cur)
				cur = t.elems[cur].parent
				depth--
			}
			i = j
		}
	}
	if depth != 0 || !sawRoot {
		return false
	}
	t.elems[0].end = int32(len(t.elems))
	t.elems[0].text1 = int32(len(t.texts))
	return true
}

// closeElem ends the element at index e and drops its namespace scope.
func (t *tape) closeElem(e int32) {
	el := &t.elems[e]
	el.end = int32(len(t.elems))
	el.text1 = int32(len(t.texts))
	t.open = t.open[:len(t.open)-1]
	// This element's declarations are the last ones, marked with its depth.
	for len(t.ns) > 0 && t.nsDepth[len(t.ns)-1] >= el.depth {
		t.ns = t.ns[:len(t.ns)-1]
		t.nsDepth = t.nsDepth[:len(t.nsDepth)-1]
	}
}

// startElem reads a start tag from s[j:] (just after '<') and appends the
// element; it returns the index after the tag.
func (t *tape) startElem(s string, j int, parent, depth int32) (next int, selfClose, ok bool) {
	qname, k := scanName(s, j)
	if k == j {
		return 0, false, false
	}
	prefix, local, ok := splitQName(qname)
	if !ok || prefix == "xmlns" {
		return 0, false, false
	}
	attr0 := int32(len(t.attrs))
	n := len(s)
	// Attributes are appended raw first (namespace declarations on this
	// element apply to its own name and attributes), then filtered.
	filter := false
	for {
		k2 := skipSpace(s, k)
		spaced := k2 > k
		k = k2
		if k >= n {
			return 0, false, false
		}
		if s[k] == '/' {
			if k+1 >= n || s[k+1] != '>' {
				return 0, false, false
			}
			selfClose = true
			k += 2
			break
		}
		if s[k] == '>' {
			k++
			break
		}
		if !spaced {
			return 0, false, false
		}
		aq, k3 := scanName(s, k)
		if k3 == k {
			return 0, false, false
		}
		ap, al, ok := splitQName(aq)
		if !ok {
			return 0, false, false
		}
		k = k3
		if k < n && s[k] != '=' {
			k = skipSpace(s, k)
		}
		if k >= n || s[k] != '=' {
			return 0, false, false
		}
		k = skipSpace(s, k+1)
		if k >= n || (s[k] != '"' && s[k] != '\'') {
			return 0, false, false
		}
		end, decode, ok := scanText(s, k+1, s[k])
		if !ok || end >= n {
			return 0, false, false
		}
		v := s[k+1 : end]
		if decode {
			if v, ok = t.decode(v); !ok {
				return 0, false, false
			}
		}
		k = end + 1
		switch {
		case ap == "xmlns":
			t.ns = append(t.ns, nsDecl{al, v})
			t.nsDepth = append(t.nsDepth, depth)
			filter = true
		case ap == "" && al == "xmlns":
			t.ns = append(t.ns, nsDecl{"", v})
			t.nsDepth = append(t.nsDepth, depth)
			filter = true
		case ap != "":
			filter = true
		}
		t.attrs = append(t.attrs, tattr{name: al, value: v, prefix: ap})
	}
	if filter {
		kept := t.attrs[:attr0]
		for _, a := range t.attrs[attr0:] {
			// buildDOM drops namespace declarations, and attributes whose
			// prefix resolves to "xmlns" (encoding/xml reports those the
			// same way).
			if space := t.attrSpace(a.prefix); space == "xmlns" || (space == "" && a.name == "xmlns") {
				continue
			}
			kept = append(kept, a)
		}
		t.attrs = kept
	}
	var ns string
	switch prefix {
	case "xml":
		ns = xmlNamespaceURL
	default:
		if uri, found := t.lookup(prefix); found {
			ns = uri
		} else {
			ns = prefix
		}
	}
	t.open = append(t.open, qname)
	t.elems = append(t.elems, telem{
		name: local, ns: ns, parent: parent, depth: depth,
		attr0: attr0, attr1: int32(len(t.attrs)),
		text0: int32(len(t.texts)),
	})
	return k, selfClose, true
}

// attrSpace resolves an attribute's prefix as encoding/xml does: "xmlns"
// stays, "xml" is the XML namespace, a declared prefix its URI, an
// undeclared one itself.
func (t *tape) attrSpace(prefix string) string {
	switch prefix {
	case "", "xmlns":
		return prefix
	case "xml":
		return xmlNamespaceURL
	}
	if uri, found := t.lookup(prefix); found {
		return uri
	}
	return prefix
}

func (t *tape) lookup(prefix string) (string, bool) {
	for i := len(t.ns) - 1; i >= 0; i-- {
		if t.ns[i].prefix == prefix {
			return t.ns[i].uri, true
		}
	}
	return "", false
}

// scanText finds the end of character data starting at s[i]: the next '<'
// (quote 0) or the closing quote. decode reports entity references or
// carriage returns. It rejects what encoding/xml rejects in text: "]]>",
// '<' inside a quoted value, invalid UTF-8 and characters outside XML's
// range.
func scanText(s string, i int, quote byte) (end int, decode, ok bool) {
	n, start := len(s), i
	for i < n {
		c := s[i]
		if plainText[c] {
			i++
			continue
		}
		switch {
		case c == quote && quote != 0:
			return i, decode, true
		case c == '<':
			if quote != 0 {
				return 0, false, false
			}
			return i, decode, true
		case c == '&' || c == '\r':
			decode = true
		case c == '>':
			if i-2 >= start && s[i-1] == ']' && s[i-2] == ']' {
				return 0, false, false
			}
		case c < 0x20 && c != '\t' && c != '\n':
			return 0, false, false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if !validRune(r, size) {
				return 0, false, false
			}
			i += size
			continue
		}
		i++
	}
	if quote != 0 {
		return 0, false, false
	}
	return i, decode, true
}

func validRune(r rune, size int) bool {
	if r == utf8.RuneError && size == 1 {
		return false
	}
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// decode resolves the five predefined entities and character references
// and turns "\r\n" and "\r" into "\n", as encoding/xml does.
func (t *tape) decode(v string) (string, bool) {
	b := t.buf[:0]
	for i := 0; i < len(v); {
		c := v[i]
		switch c {
		case '\r':
			b = append(b, '\n')
			if i+1 < len(v) && v[i+1] == '\n' {
				i++
			}
			i++
		case '&':
			semi := strings.IndexByte(v[i:], ';')
			if semi < 0 {
				return "", false
			}
			ref := v[i+1 : i+semi]
			i += semi + 1
			switch ref {
			case "lt":
				b = append(b, '<')
			case "gt":
				b = append(b, '>')
			case "amp":
				b = append(b, '&')
			case "apos":
				b = append(b, '\'')
			case "quot":
				b = append(b, '"')
			default:
				r, ok := charRef(ref)
				if !ok {
					return "", false
				}
				b = utf8.AppendRune(b, r)
			}
		default:
			b = append(b, c)
			i++
		}
	}
	t.buf = b
	return string(b), true
}

// charRef reads "#123" or "#x7B"; only characters XML allows are taken (the
// rest goes to the xpath engine).
func charRef(ref string) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	digits, base := ref[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if digits == "" || len(digits) > 8 {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if !(c >= '0' && c <= '9' || base == 16 && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, base, 32)
	if err != nil {
		return 0, false
	}
	r := rune(n)
	if r == 0xFFFD || !validRune(r, 0) {
		return 0, false
	}
	return r, true
}

func (t *tape) normalizeCR(v string) string {
	b := t.buf[:0]
	for i := 0; i < len(v); i++ {
		if v[i] == '\r' {
			b = append(b, '\n')
			if i+1 < len(v) && v[i+1] == '\n' {
				i++
			}
			continue
		}
		b = append(b, v[i])
	}
	t.buf = b
	return string(b)
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// scanName reads an ASCII XML name at s[i:]; non-ASCII names are left to
// the xpath engine (the returned end equals i when there is no name).
func scanName(s string, i int) (string, int) {
	if i >= len(s) {
		return "", i
	}
	if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_') {
		return "", i
	}
	j := i + 1
	for j < len(s) {
		c := s[j]
		if nameByte[c] {
			j++
			continue
		}
		if c >= utf8.RuneSelf {
			return "", i
		}
		break
	}
	return s[i:j], j
}

// splitQName splits prefix:local; names with more than one colon or a
// colon at either end are left to the xpath engine.
func splitQName(q string) (prefix, local string, ok bool) {
	c := strings.IndexByte(q, ':')
	if c < 0 {
		return "", q, true
	}
	if c == 0 || c == len(q)-1 || strings.IndexByte(q[c+1:], ':') >= 0 {
		return "", "", false
	}
	return q[:c], q[c+1:], true
}

// scanComment finds the end of a comment whose body starts at s[i], with
// encoding/xml's rule: "--" must be followed by '>'.
func scanComment(s string, i int) (int, bool) {
	var b0, b1 byte
	for ; i < len(s); i++ {
		b := s[i]
		if b0 == '-' && b1 == '-' {
			if b != '>' {
				return 0, false
			}
			return i + 1, true
		}
		b0, b1 = b1, b
	}
	return 0, false
}

// scanPI skips a processing instruction at s[i:]. The XML declaration is
// accepted only with version 1.0 (or none) and UTF-8 (or no) encoding;
// anything else goes to the xpath engine, which handles charsets.
func scanPI(s string, i int) (int, bool) {
	target, j := scanName(s, i+2)
	if j == i+2 || strings.IndexByte(target, ':') >= 0 {
		return 0, false
	}
	j = skipSpace(s, j)
	end := strings.Index(s[j:], "?>")
	if end < 0 {
		return 0, false
	}
	if target == "xml" {
		content := s[j : j+end]
		if v := procInst("version", content); v != "" && v != "1.0" {
			return 0, false
		}
		if enc := procInst("encoding", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
			return 0, false
		}
	}
	return j + end + 2, true
}

// procInst is encoding/xml's reading of a pseudo-attribute of the XML
// declaration (kept identical so both engines read the same value).
func procInst(param, s string) string {
	param += "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// plainText marks bytes scanText passes over without a second look;
// nameByte marks ASCII name characters after the first.
var plainText, nameByte [256]bool

func init() {
	for c := 0x20; c < 0x80; c++ {
		switch c {
		case '<', '&', '>', '"', '\'':
		default:
			plainText[c] = true
		}
	}
	plainText['\t'], plainText['\n'] = true, true
	for c := 0; c < 256; c++ {
		b := byte(c)
		nameByte[c] = b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_' || b == '-' || b == '.' || b == ':'
	}
}
