package console

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/resingest/resingest/api"
	"github.com/resingest/resingest/reservation"
)

// flatten renders a record as field path -> value ("room_stays[0].arrival"),
// without payment (the archive does not keep card data, so versions would
// differ by it alone) and with guests' personal fields masked unless pii.
func flatten(r *reservation.Reservation, pii bool) map[string]string {
	out := map[string]string{}
	if r == nil {
		return out
	}
	c := *r
	c.Normalize()
	b, err := json.Marshal(c)
	if err != nil {
		return out
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return out
	}
	delete(v, "payment")
	flattenInto(out, "", v)
	if !pii {
		for k, val := range out {
			if f, ok := guestField(k); ok {
				out[k] = mask(f, val)
			}
		}
	}
	return out
}

func flattenInto(out map[string]string, prefix string, v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			flattenInto(out, name, x)
		}
	case []any:
		if len(t) == 0 {
			out[prefix] = "[]"
		}
		for i, x := range t {
			flattenInto(out, prefix+"["+strconv.Itoa(i)+"]", x)
		}
	case string:
		out[prefix] = t
	case nil:
		out[prefix] = ""
	default:
		out[prefix] = fmt.Sprint(t)
	}
}

// personalFields are the guest fields masked for the ops role.
var personalFields = map[string]bool{
	"given_name": true, "surname": true, "email": true, "phone": true,
	"loyalty_number": true, "city": true, "postal_code": true,
}

// guestField reports whether path names a guest's personal field, and
// which: the guests' personal fields, and the special requests' text.
func guestField(path string) (string, bool) {
	if strings.HasPrefix(path, "special_requests[") && strings.HasSuffix(path, "].text") {
		return "text", true
	}
	if !strings.HasPrefix(path, "guests[") {
		return "", false
	}
	_, f, ok := strings.Cut(path, "].")
	return f, ok && personalFields[f]
}

// mask hides a personal value as the API's masked documents do (the
// e-mail's first character and domain, the phone's last four digits),
// and names by their first letter.
func mask(field, v string) string {
	switch {
	case v == "":
		return ""
	case field == "email":
		return api.MaskEmail(v)
	case field == "phone":
		return api.MaskPhone(v)
	case field == "given_name" || field == "surname":
		_, n := utf8.DecodeRuneInString(v)
		return v[:n] + "***"
	}
	return "***"
}

// diff lists the fields whose value differs from prev to cur, in field
// order; with prev nil every field of cur is new.
func diff(prev, cur map[string]string) []change {
	var out []change
	for k, v := range cur {
		if p, ok := prev[k]; !ok || p != v {
			if prev == nil && (v == "" || v == "0" || v == "false" || v == "[]") {
				continue // a first version lists what it says, not every empty field
			}
			out = append(out, change{Field: k, From: prev[k], To: v})
		}
	}
	for k, p := range prev {
		if _, ok := cur[k]; !ok {
			out = append(out, change{Field: k, From: p, To: "(absent)"})
		}
	}
	slices.SortFunc(out, func(a, b change) int { return compareFieldNames(a.Field, b.Field) })
	return out
}

// fieldOrder puts the fields people look at first on top.
var fieldOrder = map[string]int{
	"status": 0, "action": 1, "arrival": 2, "departure": 3, "hotel_code": 4, "confirmation": 5,
	"modified_at": 6, "created_at": 7, "message_time": 8, "message_type": 9, "message_id": 10,
}

func compareFieldNames(a, b string) int {
	ra, oka := fieldOrder[a]
	rb, okb := fieldOrder[b]
	switch {
	case oka && okb:
		return ra - rb
	case oka:
		return -1
	case okb:
		return 1
	}
	return strings.Compare(a, b)
}

func requestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "console-" + hex.EncodeToString(b[:])
}
