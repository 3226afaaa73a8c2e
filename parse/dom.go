package parse

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"

	"github.com/antchfx/xmlquery"
	"golang.org/x/net/html/charset"
)

// Limits bound what a message may cost to parse.
type Limits struct {
	// MaxBytes is the largest message accepted (default 1 MiB).
	MaxBytes int
	// MaxDepth is the deepest element nesting accepted (default 64).
	MaxDepth int
}

const (
	DefaultMaxBytes = 1 << 20
	DefaultMaxDepth = 64
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// buildDOM parses msg into an xmlquery tree in one hardened pass.
//
// Element and attribute names are reduced to their local names (prefixes
// dropped), so mapping expressions match any prefix or default namespace;
// the namespace URI stays on each element for mapping selection. Comments,
// processing instructions and namespace declarations are left out. A DTD,
// an entity declaration or reference to an undeclared entity, excessive
// depth, and any well-formedness error reject the message.
func buildDOM(msg []byte, lim Limits) (*xmlquery.Node, error) {
	if len(msg) > lim.MaxBytes {
		return nil, newError(ErrTooLarge, "%d bytes, limit %d", len(msg), lim.MaxBytes)
	}
	if len(bytes.TrimSpace(msg)) == 0 {
		return nil, newError(ErrNotXML, "empty message")
	}
	dec := xml.NewDecoder(bytes.NewReader(msg))
	dec.Strict = true
	dec.CharsetReader = charset.NewReaderLabel

	doc := &xmlquery.Node{Type: xmlquery.DocumentNode}
	cur := doc
	depth := 0
	sawRoot := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			switch {
			case !sawRoot:
				return nil, newError(ErrNotXML, "no root element")
			case depth > 0:
				return nil, newError(ErrTruncated, "message ends inside an element")
			}
			return doc, nil
		}
		if err != nil {
			return nil, classifyDecodeError(err, msg, dec.InputOffset(), sawRoot)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 && sawRoot {
				return nil, newError(ErrMalformed, "more than one root element")
			}
			sawRoot = true
			depth++
			if depth > lim.MaxDepth {
				return nil, newError(ErrTooDeep, "more than %d levels", lim.MaxDepth)
			}
			n := &xmlquery.Node{Type: xmlquery.ElementNode, Data: t.Name.Local, NamespaceURI: t.Name.Space}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				n.Attr = append(n.Attr, xmlquery.Attr{Name: xml.Name{Local: a.Name.Local}, Value: a.Value, NamespaceURI: a.Name.Space})
			}
			xmlquery.AddChild(cur, n)
			cur = n
		case xml.EndElement:
			depth--
			cur = cur.Parent
		case xml.CharData:
			if depth == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					if !sawRoot {
						return nil, newError(ErrNotXML, "text before the root element")
					}
					return nil, newError(ErrMalformed, "text after the root element")
				}
				continue
			}
			xmlquery.AddChild(cur, &xmlquery.Node{Type: xmlquery.TextNode, Data: string(t)})
		case xml.Directive:
			return nil, newError(ErrDTD, "<!%s...> found", directiveName(t))
		}
	}
}

// classifyDecodeError maps encoding/xml errors to error classes without
// looking at their text: input that does not start with markup is not XML,
// an error at the very end of the input is a truncation, and one before any
// element means the input is not XML either.
func classifyDecodeError(err error, msg []byte, offset int64, sawRoot bool) error {
	var syn *xml.SyntaxError
	if !errors.As(err, &syn) {
		return newError(ErrMalformed, "%v", err)
	}
	start := bytes.TrimLeft(msg, " \t\r\n\ufeff")
	switch {
	case !sawRoot && (len(start) == 0 || start[0] != '<'):
		return newError(ErrNotXML, "does not start with markup")
	case errors.Is(err, io.ErrUnexpectedEOF) || offset >= int64(len(msg)):
		return newError(ErrTruncated, "line %d: message ends early", syn.Line)
	case !sawRoot:
		return newError(ErrNotXML, "line %d: %s", syn.Line, syn.Msg)
	}
	return newError(ErrMalformed, "line %d: %s", syn.Line, syn.Msg)
}

// directiveName returns the keyword of a <!...> directive (DOCTYPE, ENTITY).
func directiveName(d xml.Directive) string {
	end := bytes.IndexAny(d, " \t\r\n[")
	if end < 0 {
		end = len(d)
	}
	if end > 16 {
		end = 16
	}
	name := make([]byte, 0, end)
	for _, c := range d[:end] {
		if (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') {
			name = append(name, c)
		}
	}
	return string(name)
}
