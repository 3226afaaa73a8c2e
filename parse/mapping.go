package parse

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/antchfx/xpath"
	"gopkg.in/yaml.v3"

	"github.com/resingest/resingest/parse/mappings"
)

// ErrMapping wraps every error in a mapping file.
var ErrMapping = errors.New("invalid mapping")

// objectSpec selects nodes and reads named fields relative to each of them.
type objectSpec struct {
	Node   []string            `yaml:"node"`
	Fields map[string][]string `yaml:"fields"`
}

// guestCountSpec adds the codes that classify guest counts.
type guestCountSpec struct {
	objectSpec `yaml:",inline"`
	AdultCodes []string `yaml:"adult_codes"`
	ChildCodes []string `yaml:"child_codes"`
}

// mappingFile is the YAML layout of a mapping (see mappings/ota2003.yaml).
type mappingFile struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Extends     string `yaml:"extends"`
	Match       struct {
		Namespaces []string `yaml:"namespaces"`
		Roots      []string `yaml:"roots"`
	} `yaml:"match"`
	MessageRoot  []string            `yaml:"message_root"`
	Message      map[string][]string `yaml:"message"`
	Reservations []string            `yaml:"reservations"`
	Reservation  map[string][]string `yaml:"reservation"`
	Action       struct {
		Cancel []string `yaml:"cancel"`
		Modify []string `yaml:"modify"`
	} `yaml:"action"`
	Property    objectSpec     `yaml:"property"`
	RoomStays   objectSpec     `yaml:"room_stays"`
	GuestCounts guestCountSpec `yaml:"guest_counts"`
	Guests      objectSpec     `yaml:"guests"`
	ExternalIDs []objectSpec   `yaml:"external_ids"`
	Payment     objectSpec     `yaml:"payment"`
	// SpecialRequests, like external_ids, is a list of node specs whose
	// matches are appended in the list's order (an extension of the
	// canonical record: reservation.SpecialRequest).
	SpecialRequests []objectSpec `yaml:"special_requests"`
}

// The field names each section may define; anything else is a typo.
var allowedFields = map[string][]string{
	"message":          {"message_id", "message_time"},
	"reservation":      {"status", "confirmation", "created_at", "modified_at", "total_after_tax", "total_before_tax", "currency"},
	"property":         {"hotel_code", "chain_code"},
	"room_stays":       {"room_type", "rate_plan", "units", "start", "end", "duration", "total_after_tax", "total_before_tax", "currency"},
	"guest_counts":     {"count", "age_code", "age"},
	"guests":           {"primary", "given_name", "surname", "email", "phone", "loyalty_program", "loyalty_number", "city", "postal_code", "country"},
	"external_ids":     {"type", "value", "source"},
	"payment":          {"card_code", "number", "expire"},
	"special_requests": {"code", "name", "text"},
}

// Mapping is a loaded, validated mapping file. It is immutable and safe for
// concurrent use; compiled expressions are kept per goroutine by the Parser.
type Mapping struct {
	Name        string
	Description string
	namespaces  []string
	roots       []string
	file        mappingFile
	fallbacks   []string
}

// Fallbacks lists the expressions the fast engine cannot run itself and
// leaves to the xpath engine, as "section.field: expression (reason)". A
// message whose mapping has any costs a DOM as well as the fast pass.
func (m *Mapping) Fallbacks() []string { return slices.Clone(m.fallbacks) }

// LoadMapping reads a mapping: the name of an embedded mapping (ota2003,
// ota2001) or the path of a YAML file.
//
// A mapping may start from another one with "extends: NAME|PATH" (a
// built-in name, or a file path relative to the extending file): the base
// is read first, then every key the file gives replaces the base's. Field
// lists (reservation, message, the fields of property, room_stays, ...)
// are merged field by field; any other list (node expressions, roots,
// external_ids, action lists) is replaced whole. A vendor mapping is then
// only what differs from ota2003, and needs a name of its own.
func LoadMapping(nameOrPath string) (*Mapping, error) {
	f, source, err := decodeMapping(nameOrPath, 0)
	if err != nil {
		return nil, err
	}
	return newMapping(source, f)
}

// maxExtends bounds a chain of "extends" (and so ends a cycle).
const maxExtends = 4

// readMappingData returns a mapping's YAML, the name errors give it, and
// the directory its relative "extends" paths start from ("" for built-ins).
func readMappingData(nameOrPath string) (data []byte, source, dir string, err error) {
	data, err = mappings.Read(nameOrPath)
	if err == nil {
		return data, nameOrPath, "", nil
	}
	if !strings.ContainsAny(nameOrPath, `/\.`) {
		return nil, "", "", fmt.Errorf("%w: no built-in mapping %q (built in: %s)", ErrMapping, nameOrPath, strings.Join(BuiltinMappings(), ", "))
	}
	if data, err = os.ReadFile(nameOrPath); err != nil {
		return nil, "", "", fmt.Errorf("%w: %w", ErrMapping, err)
	}
	return data, filepath.Base(nameOrPath), filepath.Dir(nameOrPath), nil
}

// decodeMapping reads a mapping file, on top of its base when it extends
// one.
func decodeMapping(nameOrPath string, depth int) (mappingFile, string, error) {
	var f mappingFile
	data, source, dir, err := readMappingData(nameOrPath)
	if err != nil {
		return f, "", err
	}
	var probe struct {
		Name    string `yaml:"name"`
		Extends string `yaml:"extends"`
	}
	if err := yaml.Unmarshal(data, &probe); err != nil {
		return f, "", fmt.Errorf("%w: %s: %w", ErrMapping, source, err)
	}
	if base := probe.Extends; base != "" {
		switch {
		case depth >= maxExtends:
			return f, "", fmt.Errorf("%w: %s: extends more than %d mappings deep (a cycle?)", ErrMapping, source, maxExtends)
		case probe.Name == "":
			return f, "", fmt.Errorf("%w: %s: name is missing (a mapping that extends another needs its own)", ErrMapping, source)
		}
		if strings.ContainsAny(base, `/\.`) && !filepath.IsAbs(base) && dir != "" {
			base = filepath.Join(dir, base)
		}
		if f, _, err = decodeMapping(base, depth+1); err != nil {
			return f, "", fmt.Errorf("%w (extended by %s)", err, source)
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return f, "", fmt.Errorf("%w: %s: %w", ErrMapping, source, err)
	}
	return f, source, nil
}

// BuiltinMappings lists the embedded mapping names.
func BuiltinMappings() []string { return mappings.Names() }

func newMapping(source string, f mappingFile) (*Mapping, error) {
	m := &Mapping{Name: f.Name, Description: f.Description, namespaces: f.Match.Namespaces, roots: f.Match.Roots, file: f}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMapping, source, err)
	}
	// Compile once now so every expression error surfaces at load time.
	c, err := m.compile()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMapping, source, err)
	}
	m.fallbacks = c.fallbacks()
	return m, nil
}

func (m *Mapping) validate() error {
	f := &m.file
	switch {
	case f.Name == "":
		return errors.New("name is missing")
	case len(f.Match.Roots) == 0:
		return errors.New("match.roots is empty")
	case len(f.MessageRoot) == 0:
		return errors.New("message_root is empty")
	case len(f.Reservations) == 0:
		return errors.New("reservations is empty")
	case len(f.Reservation["confirmation"]) == 0:
		return errors.New("reservation.confirmation is missing")
	}
	sections := map[string]map[string][]string{
		"message": f.Message, "reservation": f.Reservation, "property": f.Property.Fields,
		"room_stays": f.RoomStays.Fields, "guest_counts": f.GuestCounts.Fields, "guests": f.Guests.Fields,
		"payment": f.Payment.Fields,
	}
	for i, x := range f.ExternalIDs {
		sections[fmt.Sprintf("external_ids[%d]", i)] = x.Fields
	}
	for i, x := range f.SpecialRequests {
		sections[fmt.Sprintf("special_requests[%d]", i)] = x.Fields
	}
	for section, fields := range sections {
		allowed := allowedFields[strings.SplitN(section, "[", 2)[0]]
		for name := range fields {
			if !slices.Contains(allowed, name) {
				return fmt.Errorf("%s: unknown field %q (known: %s)", section, name, strings.Join(allowed, ", "))
			}
		}
	}
	return nil
}

// matches reports whether the mapping accepts a message root by namespace
// URI and local name.
func (m *Mapping) matches(namespace, root string) (nsOK, rootOK bool) {
	rootOK = slices.Contains(m.roots, root)
	for _, pattern := range m.namespaces {
		if prefix, ok := strings.CutSuffix(pattern, "*"); ok && strings.HasPrefix(namespace, prefix) && (prefix != "" || namespace == "") {
			nsOK = true
		} else if pattern == namespace {
			nsOK = true
		}
	}
	return nsOK, rootOK
}

// messagePrefix marks expressions evaluated against the message root.
const messagePrefix = "$message/"

// expr is one compiled mapping expression.
type expr struct {
	src       string
	where     string // section.field, for Fallbacks
	onMessage bool   // evaluate against the message root, not the current node
	x         *xpath.Expr
	fast      *fexpr // nil: outside the fast subset, evaluated by x
	slow      error  // why fast is nil
}

// exprList is a field's expressions in order of precedence.
type exprList []expr

func compileList(section, field string, srcs []string) (exprList, error) {
	list := make(exprList, 0, len(srcs))
	for _, src := range srcs {
		e := expr{src: src, where: section}
		if field != "" {
			e.where += "." + field
		}
		body := src
		if rest, ok := strings.CutPrefix(src, messagePrefix); ok {
			e.onMessage, body = true, rest
		}
		x, err := xpath.Compile(body)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: expression %q: %w", section, field, src, err)
		}
		e.x = x
		e.fast, e.slow = compileFast(body)
		list = append(list, e)
	}
	return list, nil
}

// compiledObject is an objectSpec with compiled expressions.
type compiledObject struct {
	node   exprList
	fields map[string]exprList
}

func compileObject(section string, spec objectSpec) (compiledObject, error) {
	var err error
	obj := compiledObject{fields: map[string]exprList{}}
	if obj.node, err = compileList(section, "node", spec.Node); err != nil {
		return obj, err
	}
	for name, srcs := range spec.Fields {
		if obj.fields[name], err = compileList(section, name, srcs); err != nil {
			return obj, err
		}
	}
	return obj, nil
}

func compileFields(section string, fields map[string][]string) (map[string]exprList, error) {
	obj, err := compileObject(section, objectSpec{Fields: fields})
	return obj.fields, err
}

// compiledMapping holds one goroutine's compiled copy of a mapping:
// antchfx/xpath expressions keep evaluation state and must not be shared.
type compiledMapping struct {
	m            *Mapping
	messageRoot  exprList
	message      map[string]exprList
	reservations exprList
	reservation  map[string]exprList
	cancel       exprList
	modify       exprList
	property     compiledObject
	roomStays    compiledObject
	guestCounts  compiledObject
	guests       compiledObject
	externalIDs  []compiledObject
	payment      compiledObject
	specialReqs  []compiledObject
}

func (m *Mapping) compile() (*compiledMapping, error) {
	f := &m.file
	c := &compiledMapping{m: m}
	var err error
	steps := []func() error{
		func() error { c.messageRoot, err = compileList("message_root", "", f.MessageRoot); return err },
		func() error { c.message, err = compileFields("message", f.Message); return err },
		func() error { c.reservations, err = compileList("reservations", "", f.Reservations); return err },
		func() error { c.reservation, err = compileFields("reservation", f.Reservation); return err },
		func() error { c.cancel, err = compileList("action", "cancel", f.Action.Cancel); return err },
		func() error { c.modify, err = compileList("action", "modify", f.Action.Modify); return err },
		func() error { c.property, err = compileObject("property", f.Property); return err },
		func() error { c.roomStays, err = compileObject("room_stays", f.RoomStays); return err },
		func() error { c.guestCounts, err = compileObject("guest_counts", f.GuestCounts.objectSpec); return err },
		func() error { c.guests, err = compileObject("guests", f.Guests); return err },
		func() error { c.payment, err = compileObject("payment", f.Payment); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	for i, spec := range f.ExternalIDs {
		obj, err := compileObject(fmt.Sprintf("external_ids[%d]", i), spec)
		if err != nil {
			return nil, err
		}
		c.externalIDs = append(c.externalIDs, obj)
	}
	for i, spec := range f.SpecialRequests {
		obj, err := compileObject(fmt.Sprintf("special_requests[%d]", i), spec)
		if err != nil {
			return nil, err
		}
		c.specialReqs = append(c.specialReqs, obj)
	}
	return c, nil
}

// lists returns every expression list of the compiled mapping.
func (c *compiledMapping) lists() []exprList {
	out := []exprList{c.messageRoot, c.reservations, c.cancel, c.modify}
	for _, fields := range []map[string]exprList{c.message, c.reservation} {
		for _, l := range fields {
			out = append(out, l)
		}
	}
	objs := append([]compiledObject{c.property, c.roomStays, c.guestCounts, c.guests, c.payment}, c.externalIDs...)
	objs = append(objs, c.specialReqs...)
	for _, o := range objs {
		out = append(out, o.node)
		for _, l := range o.fields {
			out = append(out, l)
		}
	}
	return out
}

// fallbacks describes the expressions outside the fast subset, sorted.
func (c *compiledMapping) fallbacks() []string {
	var out []string
	for _, l := range c.lists() {
		for _, e := range l {
			if e.fast == nil {
				out = append(out, fmt.Sprintf("%s: %s (%v)", e.where, e.src, e.slow))
			}
		}
	}
	sort.Strings(out)
	return out
}
