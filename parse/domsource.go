package parse

import (
	"strconv"
	"strings"

	"github.com/antchfx/xmlquery"
	"github.com/antchfx/xpath"
)

// domSource is the xpath engine's source: expressions are evaluated by
// antchfx/xpath over the xmlquery tree buildDOM made. Node handles index
// reg, a registry of the nodes handed out so far.
type domSource struct {
	reg []*xmlquery.Node
}

func (d *domSource) handle(n *xmlquery.Node) node {
	d.reg = append(d.reg, n)
	return node(len(d.reg) - 1)
}

func (d *domSource) scope(at, msg node) domScope {
	return domScope{node: d.reg[at], message: d.reg[msg]}
}

func (d *domSource) first(list exprList, at, msg node) string {
	return d.scope(at, msg).first(list)
}

func (d *domSource) truth(list exprList, at, msg node) bool {
	return d.scope(at, msg).truth(list)
}

func (d *domSource) nodes(list exprList, at, msg node) []node {
	found := d.scope(at, msg).nodes(list)
	if len(found) == 0 {
		return nil
	}
	out := make([]node, len(found))
	for i, n := range found {
		out[i] = d.handle(n)
	}
	return out
}

func (d *domSource) name(n node) string { return d.reg[n].Data }

// domScope evaluates expressions against a DOM node and the message root.
type domScope struct {
	node, message *xmlquery.Node
}

func (s domScope) nav(e *expr) *navigator {
	if e.onMessage {
		return navAt(s.message)
	}
	return navAt(s.node)
}

// value evaluates one expression to a trimmed string: the first node's
// value for node sets, the XPath string value otherwise.
func (s domScope) value(e *expr) string {
	switch v := e.x.Evaluate(s.nav(e)).(type) {
	case *xpath.NodeIterator:
		if v.MoveNext() {
			return strings.TrimSpace(v.Current().Value())
		}
		return ""
	case string:
		return strings.TrimSpace(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		if v {
			return "true"
		}
		return ""
	}
	return ""
}

func (s domScope) first(list exprList) string {
	for i := range list {
		if v := s.value(&list[i]); v != "" {
			return v
		}
	}
	return ""
}

// isTrue evaluates one expression by XPath boolean rules: non-empty node
// set, non-empty string, non-zero number.
func (s domScope) isTrue(e *expr) bool {
	switch v := e.x.Evaluate(s.nav(e)).(type) {
	case *xpath.NodeIterator:
		return v.MoveNext()
	case bool:
		return v
	case string:
		return v != ""
	case float64:
		return v != 0 && v == v
	}
	return false
}

func (s domScope) truth(list exprList) bool {
	for i := range list {
		if s.isTrue(&list[i]) {
			return true
		}
	}
	return false
}

// elements returns the element nodes one expression selects (an XPath node
// set holds each node once, in document order).
func (s domScope) elements(e *expr) []*xmlquery.Node {
	it, ok := e.x.Evaluate(s.nav(e)).(*xpath.NodeIterator)
	if !ok {
		return nil
	}
	var out []*xmlquery.Node
	for it.MoveNext() {
		nav := it.Current().(*navigator)
		if n := nav.curr; nav.attr == -1 && n.Type == xmlquery.ElementNode {
			out = append(out, n)
		}
	}
	return out
}

// nodes returns the element nodes of the first expression that selects any.
func (s domScope) nodes(list exprList) []*xmlquery.Node {
	for i := range list {
		if out := s.elements(&list[i]); len(out) > 0 {
			return out
		}
	}
	return nil
}
