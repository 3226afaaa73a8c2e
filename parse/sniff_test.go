package parse_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resingest/resingest/parse"
)

func TestSniffHotelCode(t *testing.T) {
	pad := func(n int) string { return "<!--" + strings.Repeat("x", n-7) + "-->" } // n bytes
	cases := []struct {
		name, msg, want string
	}{
		{"double quotes", `<BasicPropertyInfo ChainCode="RC" HotelCode="H1"/>`, "H1"},
		{"single quotes", `<BasicPropertyInfo HotelCode='H-2_x.y'/>`, "H-2_x.y"},
		{"spaces around =", "<X\n\tHotelCode \t= \"ABC\"/>", "ABC"},
		{"CR before the name", "<X\rHotelCode=\"09138\"/>", "09138"},
		{"namespace prefix", `<ota:X ota:HotelCode="NS1"/>`, "NS1"},
		{"the first one wins", `<A HotelCode="FIRST"/><B HotelCode="SECOND"/>`, "FIRST"},
		{"another name ending in HotelCode", `<P SupplierHotelCode="S1"/><B HotelCode="H3"/>`, "H3"},
		{"another name starting with HotelCode", `<V HotelCodeContext="x" HotelCode="H4"/>`, "H4"},
		{"in text, not an attribute", `<Note>HotelCode="T"</Note>`, ""},
		{"no value quotes", `<X HotelCode=H5/>`, ""},
		{"64 bytes", `<X HotelCode="` + strings.Repeat("a", 64) + `"/>`, strings.Repeat("a", 64)},
		{"65 bytes", `<X HotelCode="` + strings.Repeat("a", 65) + `"/>`, ""},
		{"empty", `<X HotelCode=""/><Y HotelCode="LATER"/>`, ""},
		{"space inside", `<X HotelCode="H 1"/>`, ""},
		{"angle bracket inside", `<X HotelCode='H<1'/>`, ""},
		{"double quote inside single quotes", `<X HotelCode='H"1'/>`, ""},
		{"non-ASCII", `<X HotelCode="Hôtel"/>`, ""},
		{"control byte", "<X HotelCode=\"H\x011\"/>", ""},
		{"unterminated", `<X HotelCode="H1`, ""},
		{"none", `<OTA_HotelResNotifRQ/>`, ""},
		{"empty message", ``, ""},
		{"at the start, not an attribute", `HotelCode="H1"`, ""},
		{"ends at the 64 KiB bound", pad(parse.SniffBytes-len(` HotelCode="END"`)) + ` HotelCode="END"`, "END"},
		{"runs past the 64 KiB bound", pad(parse.SniffBytes-len(` HotelCode="EN`)) + ` HotelCode="END"`, ""},
		{"after the 64 KiB bound", pad(parse.SniffBytes) + `<X HotelCode="LATE"/>`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := parse.SniffHotelCode([]byte(c.msg)); got != c.want {
				t.Errorf("SniffHotelCode = %q, want %q", got, c.want)
			}
		})
	}
}

// TestSniffHotelCodeSamples: public samples, their hotel codes read by
// hand (and equal to their goldens' hotel_code).
func TestSniffHotelCodeSamples(t *testing.T) {
	cases := []struct{ file, want string }{
		// BasicPropertyInfo ChainCode="HH" BrandCode="HH" HotelCode="09138",
		// inside RoomStay; CR-only line breaks and tabs.
		{"OpenTravel__OpenTravel-Specifications__OTA2003B_OTA_HotelResModifyNotifRQ.xml", "09138"},
		// SOAP 1.1; BasicPropertyInfo HotelCode="HTL1" HotelName="The Beach Side Hotel".
		{"devlabs91__generic-ota-hotel-api-service__Reservation.xml", "HTL1"},
		// Legacy 2001B: HotelReference HotelCode="03071".
		{"OpenTravel__OpenTravel-Specifications__OTA2001B_OTA_HotelResNotifRQ-Sample.xml", "03071"},
		// Status updates only: no hotel code anywhere.
		{"noi-techpark__opendatahub-alpinebits__GuestRequests-Push-OTA_HotelResNotifRQ-StatusUpdate.xml", ""},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			msg, err := os.ReadFile(filepath.Join(samplesDir, c.file))
			if err != nil {
				t.Fatalf("%v (is shared/ beside the checkout?)", err)
			}
			if got := parse.SniffHotelCode(msg); got != c.want {
				t.Errorf("SniffHotelCode = %q, want %q", got, c.want)
			}
		})
	}
}
