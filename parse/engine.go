package parse

import (
	"fmt"
	"strings"

	"github.com/antchfx/xmlquery"

	"github.com/resingest/resingest/reservation"
)

// Extraction engines (Options.Engine). Both give identical records and
// identical error classes; fast is the default.
const (
	// EngineFast scans the message once into a flat tape (no DOM) and runs
	// the mapping's expressions, compiled to a subset of XPath, over it.
	// Expressions outside the subset, and messages it does not handle
	// itself (non-UTF-8, DTDs, anything malformed), go to the xpath engine.
	EngineFast = "fast"
	// EngineXPath builds an xmlquery DOM and evaluates every expression
	// with antchfx/xpath.
	EngineXPath = "xpath"
)

// Engines lists the engine names Options.Engine accepts.
func Engines() []string { return []string{EngineFast, EngineXPath} }

func checkEngine(name string) (string, error) {
	switch name {
	case "", EngineFast:
		return EngineFast, nil
	case EngineXPath:
		return EngineXPath, nil
	}
	return "", fmt.Errorf("parse: unknown engine %q (known: %s)", name, strings.Join(Engines(), ", "))
}

// tapeSource is the fast engine's source: a tape and its evaluator, plus,
// when the mapping has expressions outside the fast subset, the DOM those
// are evaluated on (domOf maps tape indexes to DOM nodes and back).
type tapeSource struct {
	tape  tape
	ev    evaluator
	domOf []*xmlquery.Node
	idxOf map[*xmlquery.Node]int32
}

func newTapeSource() *tapeSource {
	ts := &tapeSource{}
	ts.ev.t = &ts.tape
	return ts
}

// index pairs the DOM of the same message with the tape: both hold the
// elements in document order.
func (ts *tapeSource) index(doc *xmlquery.Node) {
	ts.domOf = append(ts.domOf[:0], doc)
	var walk func(n *xmlquery.Node)
	walk = func(n *xmlquery.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == xmlquery.ElementNode {
				ts.domOf = append(ts.domOf, c)
				walk(c)
			}
		}
	}
	walk(doc)
	ts.idxOf = make(map[*xmlquery.Node]int32, len(ts.domOf))
	for i, n := range ts.domOf {
		ts.idxOf[n] = int32(i)
	}
}

func (ts *tapeSource) release() {
	clear(ts.domOf)
	ts.domOf, ts.idxOf = ts.domOf[:0], nil
	// The tape's slices keep pointing into the last message until reused;
	// the pool drops idle tapes at the next garbage collections.
	ts.tape.src = ""
}

func (ts *tapeSource) dom(at, msg node) domScope {
	return domScope{node: ts.domOf[at], message: ts.domOf[msg]}
}

func ctxOf(e *expr, at, msg node) int32 {
	if e.onMessage {
		return int32(msg)
	}
	return int32(at)
}

func (ts *tapeSource) first(list exprList, at, msg node) string {
	for i := range list {
		e := &list[i]
		var v string
		if e.fast != nil {
			v = ts.ev.value(e.fast, ctxOf(e, at, msg))
		} else {
			v = ts.dom(at, msg).value(e)
		}
		if v != "" {
			return v
		}
	}
	return ""
}

func (ts *tapeSource) truth(list exprList, at, msg node) bool {
	for i := range list {
		e := &list[i]
		if e.fast != nil {
			if ts.ev.truth(e.fast, ctxOf(e, at, msg)) {
				return true
			}
		} else if ts.dom(at, msg).isTrue(e) {
			return true
		}
	}
	return false
}

func (ts *tapeSource) nodes(list exprList, at, msg node) []node {
	for i := range list {
		e := &list[i]
		var out []node
		if e.fast != nil {
			if e.fast.isSet() && !e.fast.attrs {
				s := ts.ev.set(e.fast, ctxOf(e, at, msg), ts.ev.get())
				for _, id := range s {
					if id != 0 {
						out = append(out, node(id))
					}
				}
				ts.ev.put(s)
			}
		} else {
			for _, n := range ts.dom(at, msg).elements(e) {
				out = append(out, node(ts.idxOf[n]))
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

func (ts *tapeSource) name(n node) string { return ts.tape.elems[n].name }

// parseFast is the fast engine (see EngineFast). text holds msg's bytes:
// its copy for Parse, or msg itself for AppendJSON, whose records do not
// outlive msg.
func (p *Parser) parseFast(msg []byte, text string) ([]reservation.Reservation, string, error) {
	if len(msg) > p.limits.MaxBytes {
		return p.parseXPath(msg)
	}
	ts, _ := p.tapes.Get().(*tapeSource)
	if ts == nil {
		ts = newTapeSource()
	}
	defer func() {
		ts.release()
		p.tapes.Put(ts)
	}()
	if !ts.tape.scan(text, p.limits.MaxDepth) {
		return p.parseXPath(msg)
	}
	if p.needDOM {
		doc, err := buildDOM(msg, p.limits)
		if err != nil {
			return nil, "", err
		}
		ts.index(doc)
		if len(ts.domOf) != len(ts.tape.elems) {
			return p.parseXPath(msg) // cannot happen: both see the same elements
		}
	}
	pm, root, err := p.selectMapping(func(c *compiledMapping) (node, string, string, bool) {
		roots := ts.nodes(c.messageRoot, 0, 0)
		if len(roots) == 0 {
			return 0, "", "", false
		}
		el := &ts.tape.elems[roots[0]]
		return roots[0], el.ns, el.name, true
	})
	if err != nil {
		return nil, "", err
	}
	c := pm.get()
	defer pm.pool.Put(c)
	recs, err := c.extract(ts, root)
	return recs, mappingName(pm, err), err
}
