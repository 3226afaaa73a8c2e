package parse_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/reservation"
)

// publicDir holds real public vendor messages that were not used to write the
// mappings (see testdata/SOURCES.tsv); testdata/golden/public holds the
// record each one must give, labelled by hand from the XML against the rules
// in DESIGN.md (never copied from the parser's output).
const (
	publicDir       = "testdata/public"
	publicGoldenDir = "testdata/golden/public"
)

// TestHeldOutVendorSamples parses every public vendor sample and compares
// each labelled field with the parser's record. It logs the held-out figure
// (fields right / fields labelled) and fails on any difference.
//
// Notable cases:
//   - Expedia OTA_CancelRQ: the hotel code is only in Verification/Vendor
//     [@CodeContext='HotelCode'] (and the SOAP header): hotel_code 1154286.
//   - Expedia OTA_CancelRS: Status="Cancelled" makes it a cancel; the hotel
//     code is only in the SOAP header's PayloadReference/@SupplierHotelCode;
//     CancelInfoRS/UniqueID is an external id too.
//   - Concur OTA_CancelRQ / OTA_CancelRS: the confirmation only, no hotel
//     identification anywhere: hotel_code "" (held for key resolution).
//   - Concur OTA_HotelResRS: a booking response; RatePlanID is not a rate
//     plan code; the Total inside Rates is not the room stay's total.
//   - SiteMinder minimum content: UniqueID without a Type is the
//     confirmation; an initial cancellation with ResStatus="Cancelled".
//   - HotelSpider: no namespace at all, a HotelResModify container, the
//     confirmation from ResGlobalInfo's ResID_Type 14, text "..." between
//     elements as the documentation page has it.
//   - OpenTravel 2003B OTA_HotelResModifyRQ: a request read like its
//     notification (modify by message type), tab-indented on one line.
func TestHeldOutVendorSamples(t *testing.T) { eachEngine(t, testHeldOutVendorSamples) }

func testHeldOutVendorSamples(t *testing.T) {
	right, labelled, diffs := scoreHeldOut(t)
	t.Logf("held-out vendor samples: %d of %d labelled fields right", right, labelled)
	for _, d := range diffs {
		t.Error(d)
	}
}

// scoreHeldOut parses every sample of publicDir and counts the labelled
// fields the parser gets right.
func scoreHeldOut(t *testing.T) (right, labelled int, diffs []string) {
	t.Helper()
	samples, err := filepath.Glob(filepath.Join(publicDir, "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) < 12 {
		t.Fatalf("found %d samples in %s, want at least 12", len(samples), publicDir)
	}
	p, err := newParser(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sample := range samples {
		name := strings.TrimSuffix(filepath.Base(sample), ".xml")
		want := readLabels(t, filepath.Join(publicGoldenDir, name+".jsonl"))
		msg, err := os.ReadFile(sample)
		if err != nil {
			t.Fatal(err)
		}
		recs, perr := p.Parse(msg)
		if perr != nil {
			diffs = append(diffs, fmt.Sprintf("%s: rejected: %v", name, perr))
		}
		for i, w := range want {
			wf := flatten(w)
			labelled += len(wf)
			var gf map[string]string
			if i < len(recs) {
				gf = flatten(recs[i])
			}
			keys := make([]string, 0, len(wf))
			for k := range wf {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if g, ok := gf[k]; ok && g == wf[k] {
					right++
				} else if perr == nil {
					diffs = append(diffs, fmt.Sprintf("%s: record %d: %s = %s, want %s", name, i+1, k, g, wf[k]))
				}
			}
		}
		if perr == nil && len(recs) != len(want) {
			diffs = append(diffs, fmt.Sprintf("%s: %d records, want %d", name, len(recs), len(want)))
		}
		assertNoFullCardNumbers(t, msg, []byte(fmt.Sprint(recs)))
	}
	return right, labelled, diffs
}

// readLabels reads a hand-labelled JSON Lines file strictly: every field of
// the record must be present (an absent field would be an unlabelled one).
func readLabels(t *testing.T, path string) []reservation.Reservation {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no labels for this sample: %v", err)
	}
	defer f.Close()
	var out []reservation.Reservation
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r reservation.Reservation
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(line, &fields); err != nil {
			t.Fatal(err)
		}
		if len(fields) != 21 {
			t.Fatalf("%s: a record has %d fields, want all 21 labelled", path, len(fields))
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// flatten turns a record into "path" -> JSON value, one entry per scalar
// (room_stays[0].units, payment.last4, ...); an empty array is one entry.
func flatten(r reservation.Reservation) map[string]string {
	// The labels are of the canonical record; special requests, an
	// extension, have their own golden test (TestSpecialRequestsGolden).
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		panic(err)
	}
	delete(v, "special_requests")
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, e)
			}
		case []any:
			if len(x) == 0 {
				out[prefix] = "[]"
			}
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", prefix, i), e)
			}
		default:
			b, _ := json.Marshal(x)
			out[prefix] = string(b)
		}
	}
	walk("", v)
	return out
}
