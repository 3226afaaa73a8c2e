package parse

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The fast engine compiles the XPath 1.0 subset mappings are written in:
// location paths of child steps, ".//" descendant steps, "@attr" as the last
// step, "self::Name", "*", "*[n]", "." and "/" (absolute); predicates that
// are a position (last in the step) or a condition; "(path)[n]"; unions of
// element paths; "or", "and"; "path = 'literal'"; "count(path) = n". Any
// other expression is left to the xpath engine (see Mapping.Fallbacks).

// errNotStreamable marks an expression outside the fast subset.
var errNotStreamable = errors.New("outside the fast engine's subset")

type fkind uint8

const (
	fPath    fkind = iota // a location path (node set)
	fUnion                // kids[0] | kids[1] | ...
	fFilter               // (kids[0])[pos]
	fOr                   // kids[0] or kids[1] ...
	fAnd                  // kids[0] and kids[1] ...
	fEqLit                // kids[0] = lit, kids[0] a node set
	fCountEq              // count(kids[0]) = num
	fCount                // count(kids[0])
	fLit                  // 'lit'
	fNum                  // num
)

// fexpr is a compiled expression of the fast subset.
type fexpr struct {
	kind  fkind
	path  fpath
	kids  []*fexpr
	lit   string
	num   float64
	pos   int  // fFilter position, 1-based
	attrs bool // node set of attributes rather than elements
}

func (e *fexpr) isSet() bool { return e.kind == fPath || e.kind == fUnion || e.kind == fFilter }

type axis uint8

const (
	axChild axis = iota
	axDesc       // descendant-or-self::node()/child::name, without position
	axSelf       // self::name
	axNode       // "." (self::node(), also matches the document)
	axAttr
)

type fstep struct {
	axis  axis
	name  string // "" matches any element or attribute
	conds []*fexpr
	pos   int // position among the step's matches from one context, 0 none
}

type fpath struct {
	abs   bool
	steps []fstep
	dfs   bool // no descendant step: depth-first order is document order
}

// compileFast compiles one expression (without "$message/") for the fast
// engine, or returns an error wrapping errNotStreamable.
func compileFast(src string) (*fexpr, error) {
	toks, err := lexXPath(src)
	if err != nil {
		return nil, err
	}
	p := &xparser{toks: toks}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.i != len(p.toks) {
		return nil, fmt.Errorf("%w: unexpected %q", errNotStreamable, p.toks[p.i].s)
	}
	return e, nil
}

type tokKind uint8

const (
	tName tokKind = iota
	tLit
	tNum
	tOp // / // @ ( ) [ ] | = != * . .. :: , and others
)

type xtok struct {
	kind tokKind
	s    string
}

func lexXPath(src string) ([]xtok, error) {
	var toks []xtok
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'' || c == '"':
			end := strings.IndexByte(src[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("%w: unterminated literal", errNotStreamable)
			}
			toks = append(toks, xtok{tLit, src[i+1 : i+1+end]})
			i += end + 2
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			toks = append(toks, xtok{tNum, src[i:j]})
			i = j
		case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			j := i + 1
			for j < len(src) {
				d := src[j]
				if d == '_' || d == '-' || d == '.' || d >= 'A' && d <= 'Z' || d >= 'a' && d <= 'z' || d >= '0' && d <= '9' {
					j++
					continue
				}
				break
			}
			toks = append(toks, xtok{tName, src[i:j]})
			i = j
		default:
			for _, op := range []string{"//", "::", "!=", "..", "/", "@", "(", ")", "[", "]", "|", "=", "*", ".", ",", "<", ">", "+", "-", ":", "$"} {
				if strings.HasPrefix(src[i:], op) {
					toks = append(toks, xtok{tOp, op})
					i += len(op)
					goto next
				}
			}
			return nil, fmt.Errorf("%w: character %q", errNotStreamable, c)
		next:
		}
	}
	return toks, nil
}

type xparser struct {
	toks []xtok
	i    int
}

func (p *xparser) peek() (xtok, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return xtok{}, false
}

func (p *xparser) isOp(s string) bool {
	t, ok := p.peek()
	return ok && t.kind == tOp && t.s == s
}

func (p *xparser) isName(s string) bool {
	t, ok := p.peek()
	return ok && t.kind == tName && t.s == s
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errNotStreamable}, args...)...)
}

func (p *xparser) expr() (*fexpr, error) { return p.binary("or", fOr, p.and) }
func (p *xparser) and() (*fexpr, error)  { return p.binary("and", fAnd, p.equality) }

func (p *xparser) binary(op string, kind fkind, next func() (*fexpr, error)) (*fexpr, error) {
	left, err := next()
	if err != nil {
		return nil, err
	}
	if !p.isName(op) {
		return left, nil
	}
	e := &fexpr{kind: kind, kids: []*fexpr{left}}
	for p.isName(op) {
		p.i++
		right, err := next()
		if err != nil {
			return nil, err
		}
		e.kids = append(e.kids, right)
	}
	return e, nil
}

func (p *xparser) equality() (*fexpr, error) {
	left, err := p.union()
	if err != nil {
		return nil, err
	}
	if p.isOp("!=") || p.isOp("<") || p.isOp(">") {
		return nil, unsupported("comparison other than =")
	}
	if !p.isOp("=") {
		return left, nil
	}
	p.i++
	right, err := p.union()
	if err != nil {
		return nil, err
	}
	if left.kind == fLit && right.isSet() {
		left, right = right, left
	}
	if left.kind == fNum && right.kind == fCount {
		left, right = right, left
	}
	switch {
	case left.isSet() && right.kind == fLit:
		return &fexpr{kind: fEqLit, kids: []*fexpr{left}, lit: right.lit}, nil
	case left.kind == fCount && right.kind == fNum:
		return &fexpr{kind: fCountEq, kids: left.kids, num: right.num}, nil
	}
	return nil, unsupported("comparison form")
}

func (p *xparser) union() (*fexpr, error) {
	left, err := p.pathExpr()
	if err != nil {
		return nil, err
	}
	if !p.isOp("|") {
		return left, nil
	}
	e := &fexpr{kind: fUnion, kids: []*fexpr{left}, attrs: left.attrs}
	for p.isOp("|") {
		p.i++
		right, err := p.pathExpr()
		if err != nil {
			return nil, err
		}
		if !left.isSet() || !right.isSet() || right.attrs != left.attrs {
			return nil, unsupported("union of mixed node sets")
		}
		e.kids = append(e.kids, right)
	}
	return e, nil
}

func (p *xparser) pathExpr() (*fexpr, error) {
	t, ok := p.peek()
	if !ok {
		return nil, unsupported("expression ends early")
	}
	switch {
	case t.kind == tLit:
		p.i++
		return &fexpr{kind: fLit, lit: t.s}, nil
	case t.kind == tNum:
		p.i++
		n, err := strconv.ParseFloat(t.s, 64)
		if err != nil {
			return nil, unsupported("number %q", t.s)
		}
		return &fexpr{kind: fNum, num: n}, nil
	case t.kind == tName && p.i+1 < len(p.toks) && p.toks[p.i+1].s == "(":
		if t.s != "count" {
			return nil, unsupported("function %s()", t.s)
		}
		p.i += 2
		arg, err := p.expr()
		if err != nil {
			return nil, err
		}
		if !p.isOp(")") || !arg.isSet() {
			return nil, unsupported("count() argument")
		}
		p.i++
		return &fexpr{kind: fCount, kids: []*fexpr{arg}}, nil
	case t.kind == tOp && t.s == "(":
		p.i++
		inner, err := p.expr()
		if err != nil {
			return nil, err
		}
		if !p.isOp(")") {
			return nil, unsupported("unbalanced parenthesis")
		}
		p.i++
		if !p.isOp("[") {
			return inner, nil
		}
		p.i++
		pt, ok := p.peek()
		pos, err := strconv.Atoi(pt.s)
		if !ok || pt.kind != tNum || err != nil || pos < 1 || !inner.isSet() {
			return nil, unsupported("filter other than (path)[n]")
		}
		p.i++
		if !p.isOp("]") {
			return nil, unsupported("filter predicate")
		}
		p.i++
		if p.isOp("[") || p.isOp("/") || p.isOp("//") {
			return nil, unsupported("steps after a filter")
		}
		return &fexpr{kind: fFilter, kids: []*fexpr{inner}, pos: pos, attrs: inner.attrs}, nil
	}
	return p.locationPath()
}

func (p *xparser) locationPath() (*fexpr, error) {
	e := &fexpr{kind: fPath}
	desc := false
	switch {
	case p.isOp("/"):
		p.i++
		e.path.abs = true
		if t, ok := p.peek(); !ok || !(t.kind == tName || t.s == "*" || t.s == "@" || t.s == ".") {
			return e, nil // "/" alone: the document
		}
	case p.isOp("//"):
		p.i++
		e.path.abs, desc = true, true
	}
	for {
		st, err := p.step(desc)
		if err != nil {
			return nil, err
		}
		if n := len(e.path.steps); n > 0 && e.path.steps[n-1].axis == axAttr {
			return nil, unsupported("step after an attribute")
		}
		e.path.steps = append(e.path.steps, st)
		switch {
		case p.isOp("/"):
			p.i++
			desc = false
		case p.isOp("//"):
			p.i++
			desc = true
		default:
			e.attrs = st.axis == axAttr
			e.path.dfs = true
			for _, st := range e.path.steps {
				e.path.dfs = e.path.dfs && st.axis != axDesc
			}
			return e, nil
		}
	}
}

func (p *xparser) step(desc bool) (fstep, error) {
	t, ok := p.peek()
	if !ok {
		return fstep{}, unsupported("path ends early")
	}
	st := fstep{axis: axChild}
	switch {
	case t.kind == tOp && t.s == ".":
		p.i++
		st.axis = axNode
		if desc {
			return st, unsupported("//.")
		}
		if p.isOp("[") {
			return st, unsupported("predicate on .")
		}
		return st, nil
	case t.kind == tOp && t.s == "@":
		p.i++
		st.axis = axAttr
		n, ok := p.peek()
		switch {
		case ok && n.kind == tName && !(p.i+1 < len(p.toks) && p.toks[p.i+1].s == ":"):
			st.name = n.s
		case ok && n.s == "*":
		default:
			return st, unsupported("attribute name")
		}
		p.i++
		if desc || p.isOp("[") {
			return st, unsupported("attribute step form")
		}
		return st, nil
	case t.kind == tName && p.i+1 < len(p.toks) && p.toks[p.i+1].s == "::":
		switch t.s {
		case "self":
			st.axis = axSelf
		case "child":
		default:
			return st, unsupported("axis %s", t.s)
		}
		if desc {
			return st, unsupported("// before an axis")
		}
		p.i += 2
	}
	n, ok := p.peek()
	switch {
	case ok && n.kind == tName && !(p.i+1 < len(p.toks) && (p.toks[p.i+1].s == ":" || p.toks[p.i+1].s == "(")):
		st.name = n.s
	case ok && n.s == "*":
	default:
		return st, unsupported("name test")
	}
	p.i++
	if desc {
		st.axis = axDesc
	}
	for p.isOp("[") {
		p.i++
		if st.pos != 0 {
			return st, unsupported("predicate after a position")
		}
		if t, ok := p.peek(); ok && t.kind == tNum && p.i+1 < len(p.toks) && p.toks[p.i+1].s == "]" {
			pos, err := strconv.Atoi(t.s)
			if err != nil || pos < 1 || st.axis != axChild {
				return st, unsupported("position predicate")
			}
			st.pos = pos
			p.i += 2
			continue
		}
		cond, err := p.expr()
		if err != nil {
			return st, err
		}
		if cond.kind == fNum || cond.kind == fCount {
			return st, unsupported("numeric predicate")
		}
		if !p.isOp("]") {
			return st, unsupported("predicate")
		}
		p.i++
		st.conds = append(st.conds, cond)
	}
	return st, nil
}
