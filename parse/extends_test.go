package parse_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resingest/resingest/parse"
)

func writeMapping(t *testing.T, dir, name, yaml string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMappingExtends: a vendor mapping holds only what differs from its
// base. Here the vendor sends the hotel as TPA_Extensions/HotelRef/@Code
// and its status in @BookingState; everything else comes from ota2003.
func TestMappingExtends(t *testing.T) { eachEngine(t, testMappingExtends) }

func testMappingExtends(t *testing.T) {
	dir := t.TempDir()
	vendor := writeMapping(t, dir, "vendor.yaml", `
name: vendor
extends: ota2003
reservation:
  status: ["@BookingState", "@ResStatus"]
property:
  node:
    - "(.//BasicPropertyInfo[@HotelCode])[1]"
    - "TPA_Extensions/HotelRef[@Code]"
  fields:
    hotel_code: ["@HotelCode", "@Code"]
`)
	// A second level, found relative to the file that extends it.
	child := writeMapping(t, dir, "child.yaml", "name: child\nextends: ./vendor.yaml\ndescription: child of vendor\n")
	msg := notif(``, `<HotelReservation BookingState="Confirmed" CreateDateTime="2026-01-02T03:04:05+01:00"><UniqueID Type="14" ID="V-1"/>`+
		`<TPA_Extensions><HotelRef Code="VH9"/></TPA_Extensions></HotelReservation>`)
	for _, path := range []string{vendor, child} {
		p, err := newParser(parse.Options{Mapping: path})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := p.Parse([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		r := recs[0]
		// status and hotel_code from the vendor's rules; confirmation,
		// created_at and the external ids inherited from ota2003.
		if r.Status != "Confirmed" || r.HotelCode != "VH9" || r.Confirmation != "V-1" || r.CreatedAt != "2026-01-02T02:04:05Z" || len(r.ExternalIDs) != 1 {
			t.Errorf("%s: record = %+v", filepath.Base(path), r)
		}
		if name := p.Mappings()[0].Name; name != strings.TrimSuffix(filepath.Base(path), ".yaml") {
			t.Errorf("mapping name %q", name)
		}
		if fb := p.Mappings()[0].Fallbacks(); len(fb) != 0 {
			t.Errorf("fallbacks %q", fb)
		}
	}
	// ota2003 alone does not see the vendor's hotel.
	if r := one(t, msg); r.HotelCode != "" || r.Status != "" {
		t.Errorf("ota2003: hotel %q status %q", r.HotelCode, r.Status)
	}
}

func TestMappingExtendsErrors(t *testing.T) {
	dir := t.TempDir()
	writeMapping(t, dir, "a.yaml", "name: a\nextends: ./b.yaml\n")
	writeMapping(t, dir, "b.yaml", "name: b\nextends: ./a.yaml\n")
	cases := []struct{ name, yaml, says string }{
		{"no name of its own", "extends: ota2003\n", "name is missing (a mapping that extends another needs its own)"},
		{"unknown base", "name: v\nextends: ota1999\n", `no built-in mapping "ota1999" (built in: ota2001, ota2003) (extended by v.yaml)`},
		{"unknown field over the base", "name: v\nextends: ota2003\nreservation:\n  hotel: [\"@X\"]\n", `reservation: unknown field "hotel"`},
		{"cycle", "name: v\nextends: ./a.yaml\n", "extends more than 4 mappings deep (a cycle?)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse.LoadMapping(writeMapping(t, dir, "v.yaml", c.yaml))
			if !errors.Is(err, parse.ErrMapping) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("error = %v, want one saying %q", err, c.says)
			}
		})
	}
}
