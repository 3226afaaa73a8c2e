package migrate

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/dynamo"
)

// decodeImportLine reads one {"Item": ...} line back, independently of
// the encoder, so the test can compare attribute values.
func decodeImportLine(t *testing.T, line []byte) map[string]types.AttributeValue {
	t.Helper()
	var doc struct {
		Item map[string]json.RawMessage
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("line %q: %v", line, err)
	}
	m := map[string]types.AttributeValue{}
	for k, raw := range doc.Item {
		m[k] = decodeValue(t, raw)
	}
	return m
}

func decodeValue(t *testing.T, raw json.RawMessage) types.AttributeValue {
	t.Helper()
	var v map[string]json.RawMessage
	if err := json.Unmarshal(raw, &v); err != nil || len(v) != 1 {
		t.Fatalf("value %s: want one type descriptor (%v)", raw, err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatalf("value %s: %v", raw, err)
		}
	}
	for typ, body := range v {
		switch typ {
		case "S":
			var s string
			must(json.Unmarshal(body, &s))
			return &types.AttributeValueMemberS{Value: s}
		case "N":
			var s string
			must(json.Unmarshal(body, &s))
			return &types.AttributeValueMemberN{Value: s}
		case "BOOL":
			var b bool
			must(json.Unmarshal(body, &b))
			return &types.AttributeValueMemberBOOL{Value: b}
		case "NULL":
			return &types.AttributeValueMemberNULL{Value: true}
		case "B":
			var s string
			must(json.Unmarshal(body, &s))
			b, err := base64.StdEncoding.DecodeString(s)
			must(err)
			return &types.AttributeValueMemberB{Value: b}
		case "SS", "NS":
			var ss []string
			must(json.Unmarshal(body, &ss))
			if typ == "SS" {
				return &types.AttributeValueMemberSS{Value: ss}
			}
			return &types.AttributeValueMemberNS{Value: ss}
		case "L":
			var l []json.RawMessage
			must(json.Unmarshal(body, &l))
			out := make([]types.AttributeValue, len(l))
			for i := range l {
				out[i] = decodeValue(t, l[i])
			}
			return &types.AttributeValueMemberL{Value: out}
		case "M":
			var m map[string]json.RawMessage
			must(json.Unmarshal(body, &m))
			out := map[string]types.AttributeValue{}
			for k := range m {
				out[k] = decodeValue(t, m[k])
			}
			return &types.AttributeValueMemberM{Value: out}
		}
		t.Fatalf("value %s: unknown type %q", raw, typ)
	}
	return nil
}

func TestImportLineRoundTrip(t *testing.T) {
	t.Parallel()
	rec := sinks.Record{Reservation: reservation.Reservation{
		HotelCode: "H1", Confirmation: "C\"1<&>é", Arrival: "2026-01-02",
	}, ArchiveKey: "k"}
	encoded, err := dynamo.EncodeItem(&rec, dynamo.EmailGuestID, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		item map[string]types.AttributeValue
	}{
		{"EncodeItem", encoded},
		{"every type", map[string]types.AttributeValue{
			"s":    &types.AttributeValueMemberS{Value: "line\nbreak \u2028"},
			"n":    &types.AttributeValueMemberN{Value: "-1.50"},
			"t":    &types.AttributeValueMemberBOOL{Value: true},
			"f":    &types.AttributeValueMemberBOOL{Value: false},
			"null": &types.AttributeValueMemberNULL{Value: true},
			"b":    &types.AttributeValueMemberB{Value: []byte{0, 1, 255}},
			"ss":   &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
			"ns":   &types.AttributeValueMemberNS{Value: []string{"1", "2"}},
			"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{
				&types.AttributeValueMemberS{Value: "x"},
				&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
					"y": &types.AttributeValueMemberN{Value: "3"},
				}},
			}},
			"empty": &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			line, err := appendImportLine(nil, tc.item)
			if err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(line, []byte("\n")); n != 1 || line[len(line)-1] != '\n' {
				t.Fatalf("line has %d newlines, want exactly one at the end: %q", n, line)
			}
			again, _ := appendImportLine(nil, tc.item)
			if !bytes.Equal(line, again) {
				t.Error("two encodings of the same item differ")
			}
			if got := decodeImportLine(t, line); !reflect.DeepEqual(got, tc.item) {
				t.Errorf("round trip:\n got %#v\nwant %#v", got, tc.item)
			}
		})
	}
}

func TestImportLineUnknownType(t *testing.T) {
	t.Parallel()
	_, err := appendImportLine(nil, map[string]types.AttributeValue{"x": &types.UnknownUnionMember{Tag: "Z"}})
	if !errors.Is(err, ErrAttributeType) {
		t.Fatalf("err = %v, want ErrAttributeType", err)
	}
}
