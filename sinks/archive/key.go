package archive

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
)

// UnknownHotel stands for an empty hotel code in keys.
const UnknownHotel = "unknown"

// maxHotelLen bounds the hotel part of a key: hotel codes are short, and
// the value comes from untrusted messages.
const maxHotelLen = 64

// batchTimeLayout is fixed-width so batch ids sort by time.
const batchTimeLayout = "20060102T150405.000000000Z"

// ObjectKey returns the key of the object archiving batch of hotel on day
// (whose UTC date is used): <prefix>/dt=YYYY-MM-DD/hotel=<HOTEL>/<batch>.jsonl.gz.
func ObjectKey(prefix string, day time.Time, hotel, batch string) string {
	var b strings.Builder
	if prefix = strings.Trim(prefix, "/"); prefix != "" {
		b.WriteString(prefix)
		b.WriteByte('/')
	}
	b.WriteString("dt=")
	b.WriteString(day.UTC().Format(time.DateOnly))
	b.WriteString("/hotel=")
	b.WriteString(keyHotel(hotel))
	b.WriteByte('/')
	b.WriteString(batch)
	b.WriteString(".jsonl.gz")
	return b.String()
}

// keyHotel makes a hotel code safe as one key segment: letters, digits,
// '-', '_' and '.' stay, anything else (slashes, spaces, '=' ...) becomes
// '_'. Two odd codes may share a folder; the entries still carry the code.
func keyHotel(code string) string {
	if len(code) > maxHotelLen {
		code = code[:maxHotelLen]
	}
	out := []byte(code)
	for i, c := range out {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			out[i] = '_'
		}
	}
	if s := string(out); s != "" && strings.Trim(s, ".") != "" {
		return s
	}
	return UnknownHotel
}

// newBatchID returns a time-sortable, unique id: the UTC time to the
// nanosecond, then 64 random bits so that writers in other processes never
// collide.
func newBatchID(now time.Time) string {
	var r [8]byte
	_, _ = rand.Read(r[:]) // never fails (crypto/rand panics instead)
	return now.UTC().Format(batchTimeLayout) + "-" + hex.EncodeToString(r[:])
}
