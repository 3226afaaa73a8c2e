package redact

import (
	"bytes"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/resingest/resingest/parse/mappings"
)

// nameClass is what Redact does with the value of an element or attribute,
// by its local name.
type nameClass uint8

const (
	classFree       nameClass = iota // free text: card-like runs are masked
	classNumber                      // a card or account number: all digits but the last four
	classSecret                      // a CVV, password or PIN: masked whole
	classIdentifier                  // an identifier: never touched
)

// Local names (lower case) whose values are card or account numbers, and
// names containing one of numberParts.
var (
	numberNames = []string{"token", "pan", "iban", "plaincardnumber"}
	numberParts = []string{"cardnumber", "acctnumber", "accountnumber", "cardno"}
	secretNames = []string{"seriescode", "cvv", "cvc", "cvv2", "cvc2", "cid", "pin", "pincode", "securitycode", "password", "passwd", "passcode"}
	secretParts = []string{"password", "seriescode", "securitycode"}
)

// Identifiers: exact local names, and name endings, of elements and
// attributes whose values are never masked (message ids, reservation and
// loyalty numbers, phones, e-mails, timestamps).
var (
	identifierNames = []string{"id", "uniqueid", "messageid", "relatesto", "resid_value", "membershipid",
		"phonenumber", "telephone", "phone", "email", "echotoken", "timestamp", "correlationid", "conversationid",
		"confirmationnumber", "reservationnumber", "loyaltynumber"}
	identifierEndings = []string{"id", "ids", "number", "phone", "email", "emailaddress", "token", "time",
		"timestamp", "date", "code", "context", "source", "type", "_value"}
	// Element names that end like an identifier but hold text written by
	// people; their text is free text.
	freeTextNames = []string{"text", "comment", "comments", "description", "remark", "remarks", "note", "notes",
		"specialrequest", "specialrequests", "message", "addressline", "freetext"}
)

// nameTable classifies local names. Names the built-in mappings read
// (outside payment) are identifiers too, so a record field is never
// masked whatever the dialect calls it.
type nameTable struct {
	elements   map[string]nameClass
	attributes map[string]nameClass
}

var redactNames = sync.OnceValue(func() *nameTable {
	t := &nameTable{elements: map[string]nameClass{}, attributes: map[string]nameClass{}}
	for _, name := range mappings.Names() {
		data, err := mappings.Read(name)
		if err != nil {
			continue
		}
		var doc map[string]any
		if yaml.Unmarshal(data, &doc) != nil {
			continue
		}
		for key, v := range doc {
			switch key {
			// special_requests reads free text (Text, @RequestComments,
			// @Name): it stays free text, masked like a comment, and the
			// parser masks it the same way (FreeText).
			case "payment", "match", "name", "description", "action", "reservations", "message_root", "special_requests":
				continue
			}
			walkExpressions(v, t.addExpression)
		}
	}
	return t
})

// walkExpressions calls f for every string under v but the "node" lists.
func walkExpressions(v any, f func(string)) {
	switch v := v.(type) {
	case string:
		f(v)
	case []any:
		for _, e := range v {
			walkExpressions(e, f)
		}
	case map[string]any:
		for k, e := range v {
			if k != "node" && k != "adult_codes" && k != "child_codes" {
				walkExpressions(e, f)
			}
		}
	}
}

// addExpression records the attribute names of an XPath expression and the
// element its last step reads, as identifiers.
func (t *nameTable) addExpression(expr string) {
	for i := 0; i < len(expr); i++ {
		if expr[i] != '@' {
			continue
		}
		j := i + 1
		for j < len(expr) && isXPathNameByte(expr[j]) {
			j++
		}
		t.addIdentifier(t.attributes, expr[i+1:j])
	}
	for _, part := range strings.Split(expr, "|") {
		step := strings.TrimSpace(part)
		for strings.HasSuffix(step, "]") { // drop trailing predicates
			k := strings.LastIndexByte(step, '[')
			if k < 0 {
				break
			}
			step = step[:k]
		}
		step = strings.TrimSuffix(step, "/text()")
		step = step[strings.LastIndexByte(step, '/')+1:]
		valid := step != ""
		for k := 0; k < len(step); k++ {
			valid = valid && isXPathNameByte(step[k])
		}
		if valid {
			t.addIdentifier(t.elements, step)
		}
	}
}

func isXPathNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':'
}

func (t *nameTable) addIdentifier(m map[string]nameClass, name string) {
	if c := strings.LastIndexByte(name, ':'); c >= 0 {
		name = name[c+1:]
	}
	name = strings.ToLower(name)
	if name == "" || isFreeTextName(name) || classify(name) != classFree {
		return
	}
	m[name] = classIdentifier
}

func isFreeTextName(lower string) bool {
	for _, n := range freeTextNames {
		if n == lower {
			return true
		}
	}
	return false
}

// classify gives the class of a lower-case local name by the fixed lists:
// secrets first, then identifiers; classFree otherwise.
func classify(lower string) nameClass {
	for _, n := range numberNames {
		if lower == n {
			return classNumber
		}
	}
	for _, p := range numberParts {
		if strings.Contains(lower, p) {
			return classNumber
		}
	}
	for _, n := range secretNames {
		if lower == n {
			return classSecret
		}
	}
	for _, p := range secretParts {
		if strings.Contains(lower, p) {
			return classSecret
		}
	}
	if isFreeTextName(lower) {
		return classFree
	}
	for _, n := range identifierNames {
		if lower == n {
			return classIdentifier
		}
	}
	for _, e := range identifierEndings {
		if strings.HasSuffix(lower, e) {
			return classIdentifier
		}
	}
	return classFree
}

// element classifies an element by its qualified name as written.
func (t *nameTable) element(qname []byte) nameClass { return t.lookup(t.elements, qname) }

// attribute classifies an attribute by its qualified name as written.
func (t *nameTable) attribute(qname []byte) nameClass { return t.lookup(t.attributes, qname) }

func (t *nameTable) lookup(derived map[string]nameClass, qname []byte) nameClass {
	if c := bytes.LastIndexByte(qname, ':'); c >= 0 {
		qname = qname[c+1:]
	}
	var buf [64]byte
	if len(qname) > len(buf) {
		// No name this long is a known one; such a name is free text
		// unless it contains a secret's name.
		return classify(strings.ToLower(string(qname)))
	}
	lower := buf[:len(qname)]
	for i, c := range qname {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	if c, ok := derived[string(lower)]; ok {
		return c
	}
	return classify(string(lower))
}
