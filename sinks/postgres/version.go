package postgres

import (
	"fmt"
	"strings"
	"time"

	"github.com/resingest/resingest/reservation"
)

// versionTimeLayout and zeroVersionTime are how reservation.Version.String
// writes its two times.
const (
	versionTimeLayout = "2006-01-02T15:04:05.000000000Z"
	zeroVersionTime   = "0000-00-00T00:00:00.000000000Z"
)

// parseVersion reads a stored version (reservation.Version.String) back,
// for records rebuilt from the tables (Snapshot). It refuses a string that would not
// encode back to itself.
func parseVersion(s string) (reservation.Version, error) {
	parts := strings.Split(s, "|")
	if len(parts) != 3 {
		return reservation.Version{}, fmt.Errorf("stored version %q: want 3 fields", s)
	}
	var v reservation.Version
	for i, to := range []*time.Time{&v.Updated, &v.MessageTime} {
		if parts[i] == zeroVersionTime {
			continue
		}
		t, err := time.Parse(versionTimeLayout, parts[i])
		if err != nil {
			return reservation.Version{}, fmt.Errorf("stored version %q: %w", s, err)
		}
		*to = t
	}
	v.Position = strings.TrimLeft(parts[2], "0") // "" and "0" encode alike
	if v.String() != s {
		return reservation.Version{}, fmt.Errorf("stored version %q does not round-trip", s)
	}
	return v, nil
}
