package reservation

import (
	"strings"
	"time"
)

// Version orders the records of one reservation: the reservation's own
// modification time (else its creation time, else, for a message that
// carries neither such as a bare OTA_CancelRQ, the message time), then the
// message time, then the position in the stream. A store applies a record
// only when its version is greater than the stored one.
type Version struct {
	Updated     time.Time // modified_at, else created_at, else message_time
	MessageTime time.Time // message_time
	Position    string    // decimal stream position (offset or sequence number); "" sorts first
}

// positionWidth is wide enough for Kinesis sequence numbers (up to 56 digits).
const positionWidth = 64

// VersionOf computes the version of r, with pos as the stream position
// (a decimal offset or sequence number, or "" when there is none).
func VersionOf(r *Reservation, pos string) (Version, error) {
	v := Version{Position: pos}
	updated := r.ModifiedAt
	if updated == "" {
		updated = r.CreatedAt
	}
	if updated == "" {
		// Without it a bare cancel would sort before the booking it
		// cancels and be ignored as stale.
		updated = r.MessageTime
	}
	var err error
	if updated != "" {
		if v.Updated, err = time.Parse(time.RFC3339Nano, updated); err != nil {
			return Version{}, &FieldError{Field: "modified_at", Reason: "not an RFC 3339 time"}
		}
	}
	if r.MessageTime != "" {
		if v.MessageTime, err = time.Parse(time.RFC3339Nano, r.MessageTime); err != nil {
			return Version{}, &FieldError{Field: "message_time", Reason: "not an RFC 3339 time"}
		}
	}
	for _, c := range pos {
		if c < '0' || c > '9' {
			return Version{}, &FieldError{Field: "position", Reason: "not a decimal number"}
		}
	}
	if len(pos) > positionWidth {
		return Version{}, &FieldError{Field: "position", Reason: "longer than 64 digits"}
	}
	return v, nil
}

// Compare returns -1, 0 or +1 as v is older than, equal to or newer than w.
func (v Version) Compare(w Version) int {
	if c := v.Updated.Compare(w.Updated); c != 0 {
		return c
	}
	if c := v.MessageTime.Compare(w.MessageTime); c != 0 {
		return c
	}
	return strings.Compare(v.String(), w.String())
}

// String encodes the version so that byte order equals version order; stores
// that compare strings (DynamoDB condition expressions) keep it as is.
func (v Version) String() string {
	// Appended by hand: the backfill formats one per input row, and
	// fmt.Sprintf cost twice as much as the rest of parsing a row.
	b := make([]byte, 0, 2*len(zeroTime)+2+positionWidth)
	b = appendSortableTime(b, v.Updated)
	b = append(b, '|')
	b = appendSortableTime(b, v.MessageTime)
	b = append(b, '|')
	pos := v.Position
	if pos == "" {
		pos = "0"
	}
	for i := len(pos); i < positionWidth; i++ {
		b = append(b, '0')
	}
	return string(append(b, pos...))
}

// zeroTime is how sortableTime renders the zero time.
const zeroTime = "0000-00-00T00:00:00.000000000Z"

// appendSortableTime appends a fixed-width UTC rendering of t (zero time:
// all zeros).
func appendSortableTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, zeroTime...)
	}
	return t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000000Z")
}
