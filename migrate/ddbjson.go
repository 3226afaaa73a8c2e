package migrate

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ErrAttributeType is wrapped when an attribute value has a type the
// DynamoDB JSON encoder does not know.
var ErrAttributeType = fmt.Errorf("migrate: unsupported attribute value type")

// appendImportLine appends one line of DynamoDB's import-from-S3
// "DYNAMODB_JSON" format, {"Item": {...}}, followed by a newline. Keys are
// written in sorted order so the same item always gives the same bytes
// (a resumed run overwrites a file with identical content).
func appendImportLine(dst []byte, item map[string]types.AttributeValue) ([]byte, error) {
	dst = append(dst, `{"Item":`...)
	dst, err := appendMap(dst, item)
	if err != nil {
		return nil, err
	}
	return append(dst, "}\n"...), nil
}

func appendMap(dst []byte, m map[string]types.AttributeValue) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		var err error
		if dst, err = appendValue(dst, m[k]); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	return append(dst, '}'), nil
}

// appendValue writes one attribute value as DynamoDB JSON: an object with
// a single type descriptor ({"S": "..."}, {"N": "1.5"}, ...).
func appendValue(dst []byte, v types.AttributeValue) ([]byte, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return append(appendString(append(dst, `{"S":`...), v.Value), '}'), nil
	case *types.AttributeValueMemberN:
		return append(appendString(append(dst, `{"N":`...), v.Value), '}'), nil
	case *types.AttributeValueMemberBOOL:
		if v.Value {
			return append(dst, `{"BOOL":true}`...), nil
		}
		return append(dst, `{"BOOL":false}`...), nil
	case *types.AttributeValueMemberNULL:
		return append(dst, `{"NULL":true}`...), nil
	case *types.AttributeValueMemberB:
		return append(appendString(append(dst, `{"B":`...), base64.StdEncoding.EncodeToString(v.Value)), '}'), nil
	case *types.AttributeValueMemberM:
		dst = append(dst, `{"M":`...)
		dst, err := appendMap(dst, v.Value)
		if err != nil {
			return nil, err
		}
		return append(dst, '}'), nil
	case *types.AttributeValueMemberL:
		dst = append(dst, `{"L":[`...)
		for i, e := range v.Value {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendValue(dst, e); err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return append(dst, "]}"...), nil
	case *types.AttributeValueMemberSS:
		return appendStrings(append(dst, `{"SS":`...), v.Value), nil
	case *types.AttributeValueMemberNS:
		return appendStrings(append(dst, `{"NS":`...), v.Value), nil
	default:
		return nil, fmt.Errorf("%w: %T", ErrAttributeType, v)
	}
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, "]}"...)
}

// appendString writes s as a JSON string; json.Marshal of a string cannot
// fail.
func appendString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s)
	return append(dst, b...)
}
