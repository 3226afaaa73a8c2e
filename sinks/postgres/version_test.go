package postgres

import (
	"testing"
	"time"

	"github.com/resingest/resingest/reservation"
)

func TestParseVersionRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		v    reservation.Version
		ok   bool
	}{
		{"backfill", reservation.Version{Updated: time.Date(2024, 1, 5, 0, 1, 16, 0, time.UTC)}, true},
		{"stream", reservation.Version{Updated: time.Date(2024, 1, 5, 0, 1, 16, 123456000, time.UTC),
			MessageTime: time.Date(2024, 1, 5, 0, 2, 0, 0, time.UTC), Position: "49590338271490256608559692538361571095921575989136588898"}, true},
		{"zero", reservation.Version{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseVersion(tc.v.String())
			if err != nil || got.String() != tc.v.String() || !got.Updated.Equal(tc.v.Updated) {
				t.Errorf("parseVersion(%q) = %+v, %v", tc.v.String(), got, err)
			}
		})
	}
	for _, bad := range []string{"", "x|y|z", "2024-01-05T00:01:16.000000000Z|0000-00-00T00:00:00.000000000Z|12"} {
		if _, err := parseVersion(bad); err == nil {
			t.Errorf("parseVersion(%q) succeeded", bad)
		}
	}
}
