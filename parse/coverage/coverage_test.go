package coverage_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/parse/coverage"
)

// checkDir runs every *.xml file of dir through a report.
func checkDir(t *testing.T, p *parse.Parser, dir string) *coverage.Report {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in %s: %v", dir, err)
	}
	r := coverage.New()
	for _, f := range files {
		msg, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r.Check(p, filepath.Base(f), msg)
	}
	return r
}

// TestReportOverPublicSamples checks the counts over the held-out public
// vendor samples (parse/testdata/public), whose records are labelled by
// hand: 12 messages, 12 records, the 3 without any hotel identification
// held, nothing rejected.
func TestReportOverPublicSamples(t *testing.T) {
	p, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := checkDir(t, p, "../testdata/public")
	got := r.Totals()
	want := coverage.Totals{Messages: 12, Parsed: 12, Records: 12, Rejected: 0, Held: 3}
	if got != want {
		t.Fatalf("totals = %+v, want %+v", got, want)
	}
	cases := []struct {
		typ, field string
		value, of  int
	}{
		{"OTA_CancelRQ", "hotel_code", 1, 2},   // Expedia yes (Verification), Concur no
		{"OTA_CancelRS", "hotel_code", 1, 2},   // Expedia (SOAP header) yes, Concur no
		{"OTA_CancelRS", "external_ids", 2, 2}, // both
		{"OTA_ResRetrieveRS", "hotel_code", 1, 2},
		{"OTA_HotelResModifyNotifRQ", "payment", 1, 2},
		{"OTA_HotelResNotifRQ", "total_after_tax", 1, 2},
		{"OTA_HotelResRS", "guests", 1, 1},
	}
	for _, c := range cases {
		if v, of := r.Coverage(c.typ, c.field); v != c.value || of != c.of {
			t.Errorf("%s %s = %d/%d, want %d/%d", c.typ, c.field, v, of, c.value, c.of)
		}
	}
	var out strings.Builder
	if err := r.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"12 messages: 12 parsed into 12 records, 0 rejected; 3 records held for key resolution (no hotel code)",
		"OTA_CancelRS: 2 messages, 2 records, 1 held for key resolution; actions: cancel 2",
		"  hotel_code                 1/2    50%",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("report lacks %q:\n%s", line, out.String())
		}
	}
}

// TestReportRejections: parse errors and validation failures are counted by
// class with example names; a message's detail and content never appear.
func TestReportRejections(t *testing.T) {
	p, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const ns = `xmlns="http://www.opentravel.org/OTA/2003/05"`
	r := coverage.New()
	r.Check(p, "ok.xml", []byte(`<OTA_CancelRQ `+ns+`><UniqueID Type="14" ID="C1"/></OTA_CancelRQ>`))
	r.Check(p, "broken-1.xml", []byte(`<OTA_CancelRQ `+ns+`><UniqueID`))
	r.Check(p, "broken-2.xml", []byte(`<OTA_CancelRQ `+ns+`><UniqueID Type="14" ID="4111111111111111"`))
	r.Check(p, "noconf.xml", []byte(`<OTA_CancelRQ `+ns+`><POS/></OTA_CancelRQ>`))
	r.Check(p, "other.xml", []byte(`<OTA_HotelAvailNotifRQ `+ns+`/>`))
	got := r.Totals()
	if want := (coverage.Totals{Messages: 5, Parsed: 1, Records: 1, Rejected: 4, Held: 1}); got != want {
		t.Fatalf("totals = %+v, want %+v", got, want)
	}
	rj := r.Rejections()
	if len(rj) != 3 || rj[parse.ErrNoConfirmation.Error()] != 1 || rj[parse.ErrUnknownMessage.Error()] != 1 {
		t.Fatalf("rejections = %v", rj)
	}
	var out strings.Builder
	if err := r.Write(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "4111111111111111") {
		t.Error("the report carries message content")
	}
	if !strings.Contains(out.String(), "rejected: 4 messages") || !strings.Contains(out.String(), "(e.g. broken-1.xml, broken-2.xml)") {
		t.Errorf("report:\n%s", out.String())
	}
}
