package corpus

// xmlWriter appends XML to a byte slice. It is much faster than
// encoding/xml for this fixed shape and gives full control over prefixes,
// attribute order and indentation, which real messages vary.
type xmlWriter struct {
	b      []byte
	indent string // per level; "" writes everything on one line
	depth  int
}

func (w *xmlWriter) reset(indent string) {
	w.b = w.b[:0]
	w.indent = indent
	w.depth = 0
}

func (w *xmlWriter) newline() {
	if w.indent == "" {
		return
	}
	w.b = append(w.b, '\n')
	for i := 0; i < w.depth; i++ {
		w.b = append(w.b, w.indent...)
	}
}

// attrs appends name="value" pairs; a pair with an empty value is left out,
// which keeps optional attributes short to write.
func (w *xmlWriter) attrs(kv []string) {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		w.b = append(w.b, ' ')
		w.b = append(w.b, kv[i]...)
		w.b = append(w.b, `="`...)
		w.escape(kv[i+1])
		w.b = append(w.b, '"')
	}
}

func (w *xmlWriter) start(name string, kv ...string) {
	w.newline()
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	w.attrs(kv)
	w.b = append(w.b, '>')
	w.depth++
}

func (w *xmlWriter) end(name string) {
	w.depth--
	w.newline()
	w.b = append(w.b, "</"...)
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

func (w *xmlWriter) empty(name string, kv ...string) {
	w.newline()
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	w.attrs(kv)
	w.b = append(w.b, "/>"...)
}

// text writes <name attrs>value</name> on one line.
func (w *xmlWriter) text(name, value string, kv ...string) {
	w.newline()
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	w.attrs(kv)
	w.b = append(w.b, '>')
	w.escape(value)
	w.b = append(w.b, "</"...)
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

func (w *xmlWriter) escape(s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			w.b = append(w.b, "&amp;"...)
		case '<':
			w.b = append(w.b, "&lt;"...)
		case '>':
			w.b = append(w.b, "&gt;"...)
		case '"':
			w.b = append(w.b, "&quot;"...)
		default:
			w.b = append(w.b, c)
		}
	}
}
