package migrate

import (
	"encoding/csv"
	"regexp"
	"strings"
	"testing"
)

// TestIsDecimal: the hand-written check accepts exactly what the
// documented pattern does.
func TestIsDecimal(t *testing.T) {
	re := regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
	for _, s := range []string{"", "0", "-0", "12", "12.5", "-12.50", "1.", ".5", "-", "--1", "1.2.3", "1,5",
		"1e5", " 1", "1 ", "0001.0000", "+1", "12.x", "١٢", "9999999999999999999999.99"} {
		if got, want := isDecimal(s), re.MatchString(s); got != want {
			t.Errorf("isDecimal(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestRunRecordRoundTrip: a row written to a run reads back as parseRow
// made it (times compared as instants, special requests in the stream's
// encoding), and a damaged record is an error.
func TestRunRecordRoundTrip(t *testing.T) {
	rows := []string{
		goodRow("1000000001", nil),
		goodRow("1000000002", map[int]string{colModifiedAt: "2024-03-01T10:00:00.123456789+07:00", colStatus: "Cancelled",
			colArrival: "", colDeparture: "1999-12-31", colGivenName: "Zoë \"Q\", Jr.\n", colSpecialRequests: ""}),
	}
	wantRequests := []string{`[{"code":"CRIB","name":"","text":"Secret crib"}]`, ""}
	for i, line := range rows {
		rec, err := csv.NewReader(strings.NewReader(line)).Read()
		if err != nil {
			t.Fatal(err)
		}
		want, rerr := parseRow(int64(i+2), rec)
		if rerr != nil {
			t.Fatal(rerr)
		}
		if want.rec[colSpecialRequests] != wantRequests[i] {
			t.Errorf("row %d: special_requests %s, want %s", i, want.rec[colSpecialRequests], wantRequests[i])
		}
		want.input = 7
		payload := appendRunRecord(nil, &want)
		got, err := decodeRunRecord(payload)
		if err != nil {
			t.Fatal(err)
		}
		same := got.line == want.line && got.input == want.input && got.action == want.action && got.vs == want.vs &&
			got.created.Equal(want.created) && got.modified.Equal(want.modified) && got.hasMod == want.hasMod &&
			got.arrival.Equal(want.arrival) && got.hasArr == want.hasArr && got.departure.Equal(want.departure) &&
			got.hasDep == want.hasDep && got.adults == want.adults && got.children == want.children &&
			strings.Join(got.rec, "\x00") == strings.Join(want.rec, "\x00") && got.version.Compare(want.version) == 0
		if !same {
			t.Errorf("row %d read back as %+v, want %+v", i, got, want)
		}
		for _, cut := range []int{1, 5, len(payload) - 1} {
			if _, err := decodeRunRecord(payload[:cut]); err == nil {
				t.Errorf("row %d cut to %d bytes decoded", i, cut)
			}
		}
	}
}
