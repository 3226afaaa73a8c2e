package migrate

import (
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/resingest/resingest/redact"
	"github.com/resingest/resingest/reservation"
)

// The special_requests column of an extract: a JSON array of objects with
// the string members "code", "name" and "text" (reservation.SpecialRequest;
// each optional, missing is ""), or an empty cell for none. It is read
// with encoding/json, so its rules hold: member names match regardless of
// case, a null is "", invalid escapes of UTF-16 surrogates become U+FFFD.
// Anything else is a reject: another member, a value that is not a
// string, text after the array, and a NUL character (\u0000), which
// neither Postgres' text nor its jsonb holds. Bytes that are not UTF-8
// are refused for every column by parseRow.

// Why a special_requests cell is rejected (the reason never holds the
// cell: rows hold personal data).
var (
	errRequestsFormat = errors.New(`not a JSON array of objects with string "code", "name" and "text"`)
	errRequestsNUL    = errors.New("contains a NUL character")
)

// normalizeSpecialRequests checks a non-empty special_requests cell and
// returns the list in the stream's encoding (reservation.
// AppendSpecialRequests, as Postgres stores it, card-like runs in names
// and texts masked), "" for an empty list. A cell already in that
// encoding is returned as is.
func normalizeSpecialRequests(cell string) (string, error) {
	list, err := decodeSpecialRequests(cell)
	if err != nil || len(list) == 0 {
		return "", err
	}
	// Names and texts are free text, masked as the stream's parser masks
	// them (redact.FreeText), so no store keeps a full card number.
	for i := range list {
		list[i].Name, list[i].Text = redact.FreeText(list[i].Name), redact.FreeText(list[i].Text)
	}
	b := reservation.AppendSpecialRequests(make([]byte, 0, len(cell)+32), list)
	if string(b) == cell {
		return cell, nil
	}
	return string(b), nil
}

// decodeSpecialRequests decodes a special_requests cell (see above).
func decodeSpecialRequests(cell string) ([]reservation.SpecialRequest, error) {
	dec := json.NewDecoder(strings.NewReader(cell))
	dec.DisallowUnknownFields()
	var list []reservation.SpecialRequest
	if err := dec.Decode(&list); err != nil {
		return nil, errRequestsFormat
	}
	if _, err := dec.Token(); err != io.EOF { // text after the array
		return nil, errRequestsFormat
	}
	for _, q := range list {
		if strings.IndexByte(q.Code, 0) >= 0 || strings.IndexByte(q.Name, 0) >= 0 || strings.IndexByte(q.Text, 0) >= 0 {
			return nil, errRequestsNUL
		}
	}
	return list, nil
}
