package console

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Elements and attributes of OTA/HTNG messages that hold a guest's
// personal data: masked for the ops role. Card data never reaches the
// console (the archive and dead letters keep it redacted).
var (
	personalElements = map[string]bool{
		"GivenName": true, "MiddleName": true, "Surname": true, "NamePrefix": true, "NameSuffix": true,
		"NameTitle": true, "Email": true, "AddressLine": true, "CityName": true, "PostalCode": true,
		"StreetNmbr": true, "BldgRoom": true, "CardHolderName": true, "PhoneNumber": true,
		"MembershipID": true, "BirthDate": true, "DocID": true,
	}
	personalAttributes = map[string]bool{
		"PhoneNumber": true, "MembershipID": true, "BirthDate": true, "EmailAddress": true,
		"DocID": true, "Surname": true, "GivenName": true, "CardHolderName": true,
		"RequestComments": true,
	}
	// freeTextParents hold, in a Text child, what people wrote about a
	// guest (special requests: health, private life; comments).
	freeTextParents = map[string]bool{"SpecialRequest": true, "Comment": true}
)

// personalText reports whether the text of the innermost element of stack
// is personal data.
func personalText(stack []string) bool {
	n := len(stack)
	switch {
	case n == 0:
		return false
	case personalElements[stack[n-1]]:
		return true
	}
	return n >= 2 && stack[n-1] == "Text" && freeTextParents[stack[n-2]]
}

// errNotXML says a message could not be laid out (and so not masked).
var errNotXML = errors.New("the message is not well-formed XML")

// prettyXML lays msg out one element per line, indented, with the text of
// personal elements and attributes masked unless pii. Namespace prefixes
// are kept as sent.
func prettyXML(msg []byte, pii bool) (string, error) {
	d := xml.NewDecoder(bytes.NewReader(msg))
	d.Strict = true
	var out strings.Builder
	var stack []string
	depth := 0
	var pending string // a start tag not written yet: its element may hold text only
	var text string
	hasPending := false
	line := func(depth int, s string) {
		out.WriteString(strings.Repeat("  ", max(depth, 0)))
		out.WriteString(s)
		out.WriteByte('\n')
	}
	flush := func() {
		if hasPending {
			line(depth-1, pending)
			if text != "" {
				line(depth, text)
			}
			hasPending, text = false, ""
		}
	}
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("%w: %v", errNotXML, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			flush()
			pending, hasPending = startTag(t, pii), true
			stack = append(stack, t.Name.Local)
			depth++
		case xml.EndElement:
			depth--
			end := "</" + qname(t.Name) + ">"
			if hasPending {
				line(depth, pending+text+end)
				hasPending, text = false, ""
			} else {
				line(depth, end)
			}
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			s := strings.TrimSpace(string(t))
			if s == "" {
				continue
			}
			if !pii && personalText(stack) {
				s = "***"
			}
			s = escapeText(s)
			if hasPending {
				text += s
			} else {
				line(depth, s)
			}
		case xml.ProcInst:
			flush()
			line(depth, "<?"+t.Target+" "+string(t.Inst)+"?>")
		case xml.Comment:
			flush()
			line(depth, "<!--"+string(t)+"-->")
		case xml.Directive:
			flush()
			line(depth, "<!"+string(t)+">")
		}
	}
	if depth != 0 || len(stack) != 0 {
		return "", fmt.Errorf("%w: unclosed elements", errNotXML)
	}
	return out.String(), nil
}

func qname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

func startTag(t xml.StartElement, pii bool) string {
	var b strings.Builder
	b.WriteString("<" + qname(t.Name))
	for _, a := range t.Attr {
		v := a.Value
		if !pii && personalAttributes[a.Name.Local] && v != "" {
			v = "***"
		}
		b.WriteString(" " + qname(a.Name) + `="` + escapeAttr(v) + `"`)
	}
	b.WriteString(">")
	return b.String()
}

func escapeText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func escapeAttr(s string) string {
	return strings.ReplaceAll(escapeText(s), `"`, "&quot;")
}
