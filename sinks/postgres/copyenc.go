package postgres

import (
	"encoding/binary"
	"errors"
	"time"
)

// copyBuf builds the data of one COPY ... FROM STDIN (FORMAT binary)
// statement by hand. pgx's CopyFrom encodes value by value through
// interfaces and a per-type plan lookup; for the few fixed column types of
// the backfill's tables a direct encoding costs a fraction of that CPU,
// which on a small machine is CPU the server's COPY does not get.
//
// Format (PostgreSQL docs, "COPY", binary format): an 11-byte signature,
// two int32 (flags, extension length), then per row an int16 field count
// and per field an int32 length (-1: NULL) and the value in the type's
// binary send format, and an int16 -1 trailer.
type copyBuf struct {
	b []byte
}

var copySignature = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// reset starts a new COPY stream, keeping the buffer's memory.
func (c *copyBuf) reset() {
	c.b = append(c.b[:0], copySignature...)
}

// row starts a row of n fields.
func (c *copyBuf) row(n int) { c.b = binary.BigEndian.AppendUint16(c.b, uint16(n)) }

// finish ends the stream and returns its bytes (valid until reset).
func (c *copyBuf) finish() []byte {
	c.b = binary.BigEndian.AppendUint16(c.b, 0xffff)
	return c.b
}

func (c *copyBuf) null() { c.b = binary.BigEndian.AppendUint32(c.b, 0xffffffff) }

func (c *copyBuf) text(s string) {
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(s)))
	c.b = append(c.b, s...)
}

// jsonb writes JSON text s (valid JSON: the server parses it) in jsonb's
// binary format: a version byte (1), then the text.
func (c *copyBuf) jsonb(s string) {
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(s)+1))
	c.b = append(c.b, 1)
	c.b = append(c.b, s...)
}

func (c *copyBuf) int4(v int32) {
	c.b = binary.BigEndian.AppendUint32(c.b, 4)
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(v))
}

func (c *copyBuf) boolean(v bool) {
	c.b = binary.BigEndian.AppendUint32(c.b, 1)
	if v {
		c.b = append(c.b, 1)
	} else {
		c.b = append(c.b, 0)
	}
}

// pgEpoch is where PostgreSQL's date and timestamp values count from.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// date writes t's calendar day (t is a parsed YYYY-MM-DD, midnight UTC).
func (c *copyBuf) date(t time.Time) {
	secs := t.Unix() - pgEpoch.Unix()
	days := secs / 86400
	if secs%86400 < 0 {
		days-- // floor, for days before 2000
	}
	c.int4(int32(days))
}

// timestamptz writes t in microseconds since pgEpoch.
func (c *copyBuf) timestamptz(t time.Time) {
	// Whole seconds, then the fraction: time.Sub would saturate outside
	// Duration's ±292 years.
	us := (t.Unix()-pgEpoch.Unix())*1_000_000 + int64(t.Nanosecond()/1000)
	c.b = binary.BigEndian.AppendUint32(c.b, 8)
	c.b = binary.BigEndian.AppendUint64(c.b, uint64(us))
}

// errBadDecimal: a BackfillRow's amounts are -?[0-9]+(\.[0-9]+)? (the
// backfill's parser, migrate's parseRow, lets nothing else through), so
// this is a programming error, not bad input.
var errBadDecimal = errors.New("not a decimal amount")

// MaxAmountDigits bounds the digits before and after a BackfillRow
// amount's decimal point (the backfill's parser rejects longer ones):
// numeric's display scale is an int16, and no currency needs more.
const MaxAmountDigits = 1000

// numeric writes a decimal string ("" is NULL, as NULLIF(x, ”)::numeric)
// in numeric's binary format: int16 ndigits, weight, sign, dscale, then
// ndigits base-10000 digits, the first of weight 10000^weight. The
// display scale is the number of fraction digits as written, so
// "816340.00" reads back as 816340.00, as the text cast gives.
func (c *copyBuf) numeric(s string) error {
	if s == "" {
		c.null()
		return nil
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	intPart, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac = s[:i], s[i+1:]
			break
		}
	}
	if intPart == "" || len(frac) > MaxAmountDigits || len(intPart) > MaxAmountDigits {
		return errBadDecimal
	}
	for len(intPart) > 1 && intPart[0] == '0' {
		intPart = intPart[1:]
	}
	// Base-10000 digits: the integer part grouped from the decimal point
	// leftwards, the fraction rightwards (zero-padded).
	var digits [64]int16
	d := digits[:0]
	lead := len(intPart) % 4
	if lead == 0 {
		lead = 4
	}
	groups := 0
	for i := 0; i < len(intPart); {
		n := 4
		if i == 0 {
			n = lead
		}
		v, ok := group(intPart[i:i+n], n)
		if !ok {
			return errBadDecimal
		}
		d = append(d, v)
		i += n
		groups++
	}
	for i := 0; i < len(frac); i += 4 {
		end := min(i+4, len(frac))
		v, ok := group(frac[i:end], 4)
		if !ok {
			return errBadDecimal
		}
		d = append(d, v)
	}
	weight := groups - 1
	for len(d) > 0 && d[0] == 0 { // leading zero digits
		d = d[1:]
		weight--
	}
	for len(d) > 0 && d[len(d)-1] == 0 { // trailing zero digits
		d = d[:len(d)-1]
	}
	sign := uint16(0)
	if len(d) == 0 {
		weight = 0
	} else if neg {
		sign = 0x4000
	}
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(8+2*len(d)))
	c.b = binary.BigEndian.AppendUint16(c.b, uint16(len(d)))
	c.b = binary.BigEndian.AppendUint16(c.b, uint16(int16(weight)))
	c.b = binary.BigEndian.AppendUint16(c.b, sign)
	c.b = binary.BigEndian.AppendUint16(c.b, uint16(len(frac)))
	for _, v := range d {
		c.b = binary.BigEndian.AppendUint16(c.b, uint16(v))
	}
	return nil
}

// group reads up to 4 decimal digits as the value of width digits (a
// shorter fraction group is padded with zeros on the right).
func group(s string, width int) (int16, bool) {
	v := 0
	for i := 0; i < width; i++ {
		v *= 10
		if i < len(s) {
			ch := s[i]
			if ch < '0' || ch > '9' {
				return 0, false
			}
			v += int(ch - '0')
		}
	}
	return int16(v), true
}
