package dynamo

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/resingest/resingest/reservation"
)

// packLists renders the record's lists as the item's lists attribute: a
// JSON object {"room_stays":[...],"guests":[...],"external_ids":[...]},
// with "special_requests":[...] after them when there are any, whose
// elements leave out their zero-valued fields (json.Unmarshal gives
// them back as zero), so the string is smaller than the nested item it
// replaces. Decoding is plain json.Unmarshal into packedLists.
func packLists(r *reservation.Reservation) ([]byte, error) {
	b := make([]byte, 0, 512)
	b = append(b, `{"room_stays":`...)
	b, err := appendCompactList(b, reflect.ValueOf(r.RoomStays))
	if err != nil {
		return nil, err
	}
	b = append(b, `,"guests":`...)
	if b, err = appendCompactList(b, reflect.ValueOf(r.Guests)); err != nil {
		return nil, err
	}
	b = append(b, `,"external_ids":`...)
	if b, err = appendCompactList(b, reflect.ValueOf(r.ExternalIDs)); err != nil {
		return nil, err
	}
	if len(r.SpecialRequests) > 0 {
		b = append(b, `,"special_requests":`...)
		if b, err = appendCompactList(b, reflect.ValueOf(r.SpecialRequests)); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// compactField is one field of an element type: its index and JSON name.
type compactField struct {
	index int
	name  string // with its quotes and colon: `"room_type":`
}

var compactFields sync.Map // reflect.Type -> []compactField

func fieldsOf(t reflect.Type) []compactField {
	if f, ok := compactFields.Load(t); ok {
		return f.([]compactField)
	}
	var out []compactField
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, compactField{index: i, name: strconv.Quote(name) + ":"})
	}
	compactFields.Store(t, out)
	return out
}

// appendCompactList appends a slice of flat structs (strings, integers,
// booleans) as a JSON array; [] for an empty or nil slice.
func appendCompactList(b []byte, list reflect.Value) ([]byte, error) {
	b = append(b, '[')
	for i := range list.Len() {
		if i > 0 {
			b = append(b, ',')
		}
		el := list.Index(i)
		b = append(b, '{')
		first := true
		for _, f := range fieldsOf(el.Type()) {
			v := el.Field(f.index)
			if v.IsZero() {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, f.name...)
			switch v.Kind() {
			case reflect.String:
				b = reservation.AppendJSONString(b, v.String())
			case reflect.Bool:
				b = strconv.AppendBool(b, v.Bool())
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				b = strconv.AppendInt(b, v.Int(), 10)
			default:
				enc, err := json.Marshal(v.Interface())
				if err != nil {
					return nil, fmt.Errorf("dynamo: pack %s: %w", el.Type(), err)
				}
				b = append(b, enc...)
			}
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}
