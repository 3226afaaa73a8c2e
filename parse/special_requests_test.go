package parse_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/redact"
	"github.com/resingest/resingest/reservation"
)

// TestSpecialRequestsGolden pins the special requests (an extension of the
// canonical record) of every real public sample that has them, each value
// checked by hand against the XML, on both engines. The samples without
// any must give none.
func TestSpecialRequestsGolden(t *testing.T) {
	sr := func(code, name, text string) reservation.SpecialRequest {
		return reservation.SpecialRequest{Code: code, Name: name, Text: text}
	}
	shared := filepath.Join("..", "..", "shared", "samples", "public")
	own := filepath.Join("testdata", "public")
	want := map[string][]reservation.SpecialRequest{
		// OTA 2001B: directly under HotelReservation, the text in
		// @RequestComments (ota2001 mapping).
		filepath.Join(shared, "OpenTravel__OpenTravel-Specifications__OTA2001B_OTA_HotelResNotifRQ-Sample.xml"): {
			sr("CRIB", "", "Req Crib at 10.00."), sr("ROLLAWAY", "", "Req 2 Rlwys at 15.00 each")},
		// OTA 2003B: in the room stay, the text in a Text element; the
		// second request's Text is empty.
		filepath.Join(shared, "OpenTravel__OpenTravel-Specifications__OTA2003B_OTA_HotelResModifyNotifRQ.xml"): {
			sr("1.14", "", "1 king"), sr("2.3", "", "")},
		// A channel manager's requests by @Name, no code.
		filepath.Join(shared, "devlabs91__generic-ota-hotel-api-service__Reservation.xml"): {
			sr("", "extra bed", "Yes"), sr("", "bedding configuration", "2 x Double")},
		filepath.Join(shared, "devlabs91__generic-ota-hotel-api-service__Modification.xml"): {
			sr("", "extra bed", "Yes"), sr("", "bedding configuration", "2 x Double")},
		filepath.Join(own, "OpenTravel__OpenTravel-Specifications__OTA2003B_OTA_HotelResModifyRQ.xml"): {
			sr("1.14", "", "1 king"), sr("2.1", "", "Non-Smoking")},
		// Expedia: the inner double space of a Formatted text is kept.
		filepath.Join(own, "expedia__booking-notification-OTA_HotelResModifyNotifRQ.xml"): {
			sr("1.14", "", "1 king bed"), sr("2.1", "", "Non-Smoking"),
			sr("5", "", "Bill only nghts bkd by Expedia to cc# @ ck-in  gst pays incid")},
	}
	var samples []string
	for _, dir := range []string{shared, own, filepath.Join("testdata", "vendors")} {
		files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no samples in %s: %v", dir, err)
		}
		samples = append(samples, files...)
	}
	for w := range want {
		if !slices.Contains(samples, w) {
			t.Fatalf("labelled sample %s is missing", w)
		}
	}
	eachEngine(t, func(t *testing.T) {
		p, err := newParser(parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		withRequests := 0
		for _, sample := range samples {
			msg, err := os.ReadFile(sample)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := p.Parse(msg)
			if err != nil {
				continue // rejected samples have their own tests
			}
			var got []reservation.SpecialRequest
			for _, r := range recs {
				got = append(got, r.SpecialRequests...)
			}
			if !slices.Equal(got, want[sample]) {
				t.Errorf("%s: special requests\n got %q\nwant %q", strings.TrimPrefix(sample, "../"), got, want[sample])
			}
			if len(got) > 0 {
				withRequests++
			}
		}
		if withRequests != len(want) {
			t.Errorf("%d samples gave special requests, want %d", withRequests, len(want))
		}
	})
}

// TestParseExtendedOutput: AppendJSON prints the canonical record unless
// Options.Extended, which adds special_requests after payment.
func TestParseExtendedOutput(t *testing.T) {
	msg, err := os.ReadFile(filepath.Join("..", "..", "shared", "samples", "public", "devlabs91__generic-ota-hotel-api-service__Reservation.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, extended := range []bool{false, true} {
		p, err := parse.New(parse.Options{Extended: extended})
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.AppendJSON(nil, msg)
		if err != nil {
			t.Fatal(err)
		}
		has := strings.Contains(string(out), `"special_requests":[{"code":"","name":"extra bed","text":"Yes"}`)
		if has != extended || !strings.Contains(string(out), `"payment":{`) {
			t.Errorf("extended=%v: special requests printed %v: %s", extended, has, out)
		}
	}
}

// TestSpecialRequestsHoldNoCardNumber: a card number an agent typed into a
// request (a real sample, altered) is masked in the record as the archive
// masks it, so the record holds no full card number and the redacted
// message extracts the same requests.
func TestSpecialRequestsHoldNoCardNumber(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("..", "..", "shared", "samples", "public", "devlabs91__generic-ota-hotel-api-service__Reservation.xml"))
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(strings.Replace(string(sample), "<Text>Yes</Text>", "<Text>guarantee: card 4111 1111 1111 1111 exp 12/29</Text>", 1))
	if string(msg) == string(sample) {
		t.Fatal("the sample no longer has the request this test alters")
	}
	eachEngine(t, func(t *testing.T) {
		p, err := newParser(parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		orig, err := p.Parse(msg)
		if err != nil {
			t.Fatal(err)
		}
		archived, err := p.Parse(redact.Redact(msg))
		if err != nil {
			t.Fatal(err)
		}
		want := "guarantee: card XXXX XXXX XXXX 1111 exp 12/29"
		if got := orig[0].SpecialRequests[0].Text; got != want {
			t.Errorf("request text %q, want %q", got, want)
		}
		if !slices.Equal(orig[0].SpecialRequests, archived[0].SpecialRequests) {
			t.Errorf("the archived message extracts other requests:\n%q\n%q", orig[0].SpecialRequests, archived[0].SpecialRequests)
		}
	})
}
