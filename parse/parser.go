package parse

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/resingest/resingest/reservation"
)

// AutoMapping selects a mapping per message by namespace and root name.
const AutoMapping = "auto"

// autoOrder is the order mappings are tried in when only the root name
// matches (an unknown namespace): the current standard first.
var autoOrder = []string{"ota2003", "ota2001"}

// Options configure a Parser. The zero value is usable: automatic mapping
// selection and the default limits.
type Options struct {
	// Mapping is "auto" (or ""), a built-in mapping name, or a YAML file path.
	Mapping string
	Limits  Limits
	// Engine is EngineFast (or "", the default) or EngineXPath.
	Engine string
	// Extended makes AppendJSON write the record's extensions too
	// (Reservation.AppendExtendedJSON: special_requests), not only the
	// canonical record of DESIGN.md (resingest parse --extended).
	Extended bool
}

// Parser extracts reservations from messages. It is safe for concurrent
// use; compiled expressions are pooled so each is compiled once per
// concurrent user, not per message.
type Parser struct {
	limits   Limits
	mappings []*pooledMapping
	auto     bool
	engine   string
	extended bool
	needDOM  bool      // some mapping expression is outside the fast subset
	tapes    sync.Pool // of *tapeSource
}

type pooledMapping struct {
	m    *Mapping
	pool sync.Pool // of *compiledMapping
}

func (p *pooledMapping) get() *compiledMapping {
	if c, ok := p.pool.Get().(*compiledMapping); ok {
		return c
	}
	c, err := p.m.compile()
	if err != nil { // cannot happen: LoadMapping compiled it once already
		panic(fmt.Sprintf("parse: mapping %s no longer compiles: %v", p.m.Name, err))
	}
	return c
}

// New loads the mappings the options name and returns a Parser.
func New(opts Options) (*Parser, error) {
	engine, err := checkEngine(opts.Engine)
	if err != nil {
		return nil, err
	}
	p := &Parser{limits: opts.Limits.withDefaults(), engine: engine, extended: opts.Extended}
	names := []string{opts.Mapping}
	if opts.Mapping == "" || opts.Mapping == AutoMapping {
		p.auto, names = true, autoOrder
	}
	for _, name := range names {
		m, err := LoadMapping(name)
		if err != nil {
			return nil, err
		}
		p.mappings = append(p.mappings, &pooledMapping{m: m})
		p.needDOM = p.needDOM || len(m.fallbacks) > 0
	}
	return p, nil
}

// Parse extracts every reservation of one message, in document order. A
// rejected message returns an *Error wrapping one of the Err* classes and
// no records.
func (p *Parser) Parse(msg []byte) ([]reservation.Reservation, error) {
	recs, _, err := p.ParseMapping(msg)
	return recs, err
}

// ParseMapping is Parse that also names the mapping that extracted the
// records (Mapping.Name: "ota2003", "ota2001", a file's name), for the
// lineage's per-feed figures; "" when the message was rejected.
func (p *Parser) ParseMapping(msg []byte) ([]reservation.Reservation, string, error) {
	if p.engine == EngineXPath {
		return p.parseXPath(msg)
	}
	return p.parseFast(msg, string(msg))
}

// AppendJSON parses msg and appends its records to dst as JSON Lines (each
// record's Reservation.AppendJSON, or AppendExtendedJSON with
// Options.Extended, and a newline, in document order): what
// Parse and then encoding every record gives, without copying msg. The
// records it builds point into msg and never leave the call, so msg must
// not change until it returns; it may be reused after. On a rejection dst
// comes back unchanged with the error Parse gives. Safe for concurrent use,
// like Parse.
func (p *Parser) AppendJSON(dst, msg []byte) ([]byte, error) {
	var recs []reservation.Reservation
	var err error
	if p.engine == EngineXPath || len(msg) == 0 {
		recs, err = p.Parse(msg)
	} else {
		recs, _, err = p.parseFast(msg, unsafe.String(&msg[0], len(msg)))
	}
	if err != nil {
		return dst, err // errors are formatted copies: they may be kept
	}
	for i := range recs {
		if p.extended {
			dst = recs[i].AppendExtendedJSON(dst)
		} else {
			dst = recs[i].AppendJSON(dst)
		}
		dst = append(dst, '\n')
	}
	return dst, nil
}

// Engine returns the engine the parser runs (EngineFast or EngineXPath).
func (p *Parser) Engine() string { return p.engine }

// parseXPath is the xpath engine: a DOM, then antchfx/xpath per expression.
func (p *Parser) parseXPath(msg []byte) ([]reservation.Reservation, string, error) {
	doc, err := buildDOM(msg, p.limits)
	if err != nil {
		return nil, "", err
	}
	src := &domSource{}
	src.handle(doc)
	pm, root, err := p.selectMapping(func(c *compiledMapping) (node, string, string, bool) {
		roots := domScope{node: doc, message: doc}.nodes(c.messageRoot)
		if len(roots) == 0 {
			return 0, "", "", false
		}
		return src.handle(roots[0]), roots[0].NamespaceURI, roots[0].Data, true
	})
	if err != nil {
		return nil, "", err
	}
	c := pm.get()
	defer pm.pool.Put(c)
	recs, err := c.extract(src, root)
	return recs, mappingName(pm, err), err
}

// mappingName is the name of the mapping that extracted a message, "" when
// the extraction failed.
func mappingName(pm *pooledMapping, err error) string {
	if err != nil {
		return ""
	}
	return pm.m.Name
}

// rootFinder returns the message root a mapping finds in the message being
// parsed: its handle, namespace URI and local name, or ok false.
type rootFinder func(c *compiledMapping) (root node, namespace, name string, ok bool)

// selectMapping finds the mapping for a message and its message root.
func (p *Parser) selectMapping(rootOf rootFinder) (*pooledMapping, node, error) {
	var byRoot *pooledMapping
	var byRootNode node
	anyRoot := ""
	for _, pm := range p.mappings {
		c := pm.get()
		root, ns, name, ok := rootOf(c)
		pm.pool.Put(c)
		if !ok {
			continue
		}
		anyRoot = name
		nsOK, rootOK := pm.m.matches(ns, name)
		switch {
		case rootOK && (nsOK || !p.auto):
			return pm, root, nil
		case rootOK && byRoot == nil:
			byRoot, byRootNode = pm, root
		}
	}
	if byRoot != nil {
		return byRoot, byRootNode, nil
	}
	if anyRoot == "" {
		return nil, 0, newError(ErrUnknownMessage, "no message element")
	}
	return nil, 0, newError(ErrUnknownMessage, "%s", anyRoot)
}

// Mappings returns the mappings the parser uses, in the order it tries them.
func (p *Parser) Mappings() []*Mapping {
	out := make([]*Mapping, len(p.mappings))
	for i, pm := range p.mappings {
		out[i] = pm.m
	}
	return out
}
