package reservation

import (
	"fmt"
	"testing"
	"time"
)

// TestVersionStringLayout: String keeps the layout every store holds
// (the one fmt.Sprintf("%s|%s|%0*s") gave): fixed-width UTC times, the
// position zero-padded to 64 digits.
func TestVersionStringLayout(t *testing.T) {
	plus7 := time.FixedZone("+07", 7*3600)
	for _, v := range []Version{
		{},
		{Updated: time.Date(2012, 3, 9, 19, 31, 52, 0, time.UTC)},
		{Updated: time.Date(2012, 3, 9, 19, 31, 52, 123456789, plus7), MessageTime: time.Date(2013, 1, 2, 3, 4, 5, 6, time.UTC), Position: "42"},
		{Updated: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Position: "49590338271490256608559692538361571095921575989136588898"},
	} {
		pos := v.Position
		if pos == "" {
			pos = "0"
		}
		f := func(t time.Time) string {
			if t.IsZero() {
				return "0000-00-00T00:00:00.000000000Z"
			}
			return t.UTC().Format("2006-01-02T15:04:05.000000000Z")
		}
		want := fmt.Sprintf("%s|%s|%0*s", f(v.Updated), f(v.MessageTime), positionWidth, pos)
		if got := v.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}
