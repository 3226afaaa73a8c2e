package reservation

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the canonical record's JSON encoding to b without
// reflection: the bytes an encoding/json Encoder with SetEscapeHTML(false)
// writes for it, without the trailing newline and without the extensions
// (resingest parse's output format, DESIGN.md's field set; see
// TestAppendJSONMatchesEncodingJSON). Nil slices are written as [].
func (r *Reservation) AppendJSON(b []byte) []byte {
	return append(r.appendCanonical(b), '}')
}

// AppendExtendedJSON appends the whole record, extensions included: the
// bytes MarshalJSON gives (resingest parse --extended).
func (r *Reservation) AppendExtendedJSON(b []byte) []byte {
	b = append(r.appendCanonical(b), `,"special_requests":`...)
	b = AppendSpecialRequests(b, r.SpecialRequests)
	return append(b, '}')
}

// AppendSpecialRequests appends list as the record's JSON writes it: an
// array of {"code","name","text"}, [] when empty (for stores that keep the
// list as one JSON value, such as Postgres' special_requests column).
func AppendSpecialRequests(b []byte, list []SpecialRequest) []byte {
	b = append(b, '[')
	for i, q := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"code":`...)
		b = appendString(b, q.Code)
		b = append(b, `,"name":`...)
		b = appendString(b, q.Name)
		b = append(b, `,"text":`...)
		b = appendString(b, q.Text)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendCanonical writes the canonical fields, without the closing brace.
func (r *Reservation) appendCanonical(b []byte) []byte {
	b = append(b, `{"message_type":`...)
	b = appendString(b, r.MessageType)
	b = append(b, `,"message_id":`...)
	b = appendString(b, r.MessageID)
	b = append(b, `,"message_time":`...)
	b = appendString(b, r.MessageTime)
	b = append(b, `,"action":`...)
	b = appendString(b, r.Action)
	b = append(b, `,"status":`...)
	b = appendString(b, r.Status)
	b = append(b, `,"confirmation":`...)
	b = appendString(b, r.Confirmation)
	b = append(b, `,"hotel_code":`...)
	b = appendString(b, r.HotelCode)
	b = append(b, `,"chain_code":`...)
	b = appendString(b, r.ChainCode)
	b = append(b, `,"created_at":`...)
	b = appendString(b, r.CreatedAt)
	b = append(b, `,"modified_at":`...)
	b = appendString(b, r.ModifiedAt)
	b = append(b, `,"arrival":`...)
	b = appendString(b, r.Arrival)
	b = append(b, `,"departure":`...)
	b = appendString(b, r.Departure)
	b = append(b, `,"room_stays":[`...)
	for i := range r.RoomStays {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.RoomStays[i].appendJSON(b)
	}
	b = append(b, `],"adults":`...)
	b = strconv.AppendInt(b, int64(r.Adults), 10)
	b = append(b, `,"children":`...)
	b = strconv.AppendInt(b, int64(r.Children), 10)
	b = append(b, `,"guests":[`...)
	for i := range r.Guests {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.Guests[i].appendJSON(b)
	}
	b = append(b, `],"total_after_tax":`...)
	b = appendString(b, r.TotalAfterTax)
	b = append(b, `,"total_before_tax":`...)
	b = appendString(b, r.TotalBeforeTax)
	b = append(b, `,"currency":`...)
	b = appendString(b, r.Currency)
	b = append(b, `,"external_ids":[`...)
	for i, id := range r.ExternalIDs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":`...)
		b = appendString(b, id.Type)
		b = append(b, `,"value":`...)
		b = appendString(b, id.Value)
		b = append(b, `,"source":`...)
		b = appendString(b, id.Source)
		b = append(b, '}')
	}
	b = append(b, `],"payment":{"card_code":`...)
	b = appendString(b, r.Payment.CardCode)
	b = append(b, `,"last4":`...)
	b = appendString(b, r.Payment.Last4)
	b = append(b, `,"expire":`...)
	b = appendString(b, r.Payment.Expire)
	return append(b, '}')
}

func (s *RoomStay) appendJSON(b []byte) []byte {
	b = append(b, `{"room_type":`...)
	b = appendString(b, s.RoomType)
	b = append(b, `,"rate_plan":`...)
	b = appendString(b, s.RatePlan)
	b = append(b, `,"units":`...)
	b = strconv.AppendInt(b, int64(s.Units), 10)
	b = append(b, `,"arrival":`...)
	b = appendString(b, s.Arrival)
	b = append(b, `,"departure":`...)
	b = appendString(b, s.Departure)
	b = append(b, `,"adults":`...)
	b = strconv.AppendInt(b, int64(s.Adults), 10)
	b = append(b, `,"children":`...)
	b = strconv.AppendInt(b, int64(s.Children), 10)
	b = append(b, `,"total_after_tax":`...)
	b = appendString(b, s.TotalAfterTax)
	b = append(b, `,"total_before_tax":`...)
	b = appendString(b, s.TotalBeforeTax)
	b = append(b, `,"currency":`...)
	b = appendString(b, s.Currency)
	return append(b, '}')
}

func (g *Guest) appendJSON(b []byte) []byte {
	b = append(b, `{"primary":`...)
	b = strconv.AppendBool(b, g.Primary)
	b = append(b, `,"given_name":`...)
	b = appendString(b, g.GivenName)
	b = append(b, `,"surname":`...)
	b = appendString(b, g.Surname)
	b = append(b, `,"email":`...)
	b = appendString(b, g.Email)
	b = append(b, `,"phone":`...)
	b = appendString(b, g.Phone)
	b = append(b, `,"loyalty_program":`...)
	b = appendString(b, g.LoyaltyProgram)
	b = append(b, `,"loyalty_number":`...)
	b = appendString(b, g.LoyaltyNumber)
	b = append(b, `,"city":`...)
	b = appendString(b, g.City)
	b = append(b, `,"postal_code":`...)
	b = appendString(b, g.PostalCode)
	b = append(b, `,"country":`...)
	b = appendString(b, g.Country)
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string, exactly as the record's
// AppendJSON writes its string fields (see appendString): for writers of
// other JSON shapes of the record, such as the DynamoDB item's packed
// lists.
func AppendJSONString(b []byte, s string) []byte { return appendString(b, s) }

// appendString quotes s as encoding/json does without HTML escaping:
// quote, backslash and control characters escaped (\b \f \n \r \t by name),
// invalid UTF-8 as \ufffd, U+2028 and U+2029 as \u2028 and \u2029.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
