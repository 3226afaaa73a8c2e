package migrate

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const edwHeader = "confirmation,hotel_code,chain_code,status,created_at,modified_at,arrival,departure,room_type,rate_plan,adults,children,total_after_tax,total_before_tax,currency,guest_given_name,guest_surname,guest_email,guest_phone,loyalty_number,itinerary_id,special_requests\n"

// goodRow is a well-formed row for confirmation conf; edit replaces
// column i by v.
func goodRow(conf string, edits map[int]string) string {
	return csvLine(goodFields(conf, edits))
}

// goodFields are goodRow's fields.
func goodFields(conf string, edits map[int]string) []string {
	f := []string{conf, "H00042", "AZ", "Reserved", "2024-05-01T10:00:00Z", "",
		"2024-06-01", "2024-06-03", "KNG", "BAR", "2", "1", "250.50", "220.00", "USD",
		"Secretgiven", "Secretsurname", "secret@example.com", "+1 555 0100", "999", "ITX",
		`[{"code":"CRIB","text":"Secret crib"}]`}
	for i, v := range edits {
		f[i] = v
	}
	return f
}

// csvLine is f as one CSV line.
func csvLine(f []string) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(f)
	w.Flush()
	return b.String()
}

func TestRejects(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	db, _ := testDB(t)
	// A row too large for a DynamoDB item once sealed (MaxRowBytes).
	big := goodFields("1000000026", map[int]string{colSpecialRequests: `[{"text":"` + strings.Repeat("Secret ", 10_000) + `"}]`})
	bigSize := 0
	for _, f := range big {
		bigSize += len(f)
	}
	lines := []struct {
		text   string
		reason string // "" for a good row
	}{
		{goodRow("1000000001", nil), ""},
		{"1000000002,H00042,AZ,Reserved\n", "4 fields, want 22"},
		{goodRow("1000000003", map[int]string{colCreatedAt: "May 1st"}), "created_at: not an RFC 3339 time"},
		{goodRow("1000000004", map[int]string{colModifiedAt: "2024-13-01T00:00:00Z"}), "modified_at: not an RFC 3339 time"},
		{goodRow("1000000005", map[int]string{colArrival: "01/06/2024"}), "arrival: not a YYYY-MM-DD date"},
		{goodRow("", nil), "confirmation: missing"},
		{goodRow("1000000007", map[int]string{colHotelCode: ""}), "hotel_code: missing"},
		{goodRow("1000000008", map[int]string{colAdults: "two"}), "adults: not a non-negative integer"},
		{goodRow("1000000009", map[int]string{colChildren: "-1"}), "children: not a non-negative integer"},
		{goodRow("1000000010", map[int]string{colTotalAfterTax: "12,50"}), "total_after_tax: not a decimal amount"},
		{`1000000011,H00042,AZ,Re"served,2024-05-01T10:00:00Z,,,,,,,,,,,Secretgiven,,,,,` + "\n", "malformed CSV"},
		{goodRow("1000000012", map[int]string{colStatus: "Cancelled", colModifiedAt: "2024-05-02T00:00:00Z"}), ""},
		{goodRow("1000000013", map[int]string{colCreatedAt: ""}), "created_at: missing"},
		{goodRow("1000000014", map[int]string{colSpecialRequests: ""}), ""},
		{goodRow("1000000015", map[int]string{colSpecialRequests: `[]`}), ""},
		{goodRow("1000000016", map[int]string{colSpecialRequests: `{"code":"CRIB","text":"Secret crib"}`}), "special_requests: not a JSON array"},
		{goodRow("1000000017", map[int]string{colSpecialRequests: `[{"code":"CRIB","note":"Secret crib"}]`}), "special_requests: not a JSON array"},
		{goodRow("1000000018", map[int]string{colSpecialRequests: `[{"code":18,"text":"Secret crib"}]`}), "special_requests: not a JSON array"},
		{goodRow("1000000019", map[int]string{colSpecialRequests: `[{"text":"Secret crib"}`}), "special_requests: not a JSON array"},
		{goodRow("1000000020", map[int]string{colSpecialRequests: `[{"text":"Secret\u0000crib"}]`}), "special_requests: contains a NUL character"},
		{goodRow("1000000021", map[int]string{colSpecialRequests: "[{\"text\":\"Secret \xff crib\"}]"}), "special_requests: not valid UTF-8"},
		// Bytes Postgres refuses in a text column: the row is rejected
		// before its chunk goes to COPY (which would refuse the chunk).
		{goodRow("1000000022", map[int]string{colSurname: "Secret\xffsurname"}), "guest_surname: not valid UTF-8"},
		{goodRow("1000000023", map[int]string{colRoomType: "K\x00NG"}), "room_type: contains a NUL character"},
		{goodRow("1000000024", map[int]string{colConfirmation: "10000\xc3"}), "confirmation: not valid UTF-8"},
		{goodRow("1000000025", nil), ""},
		{csvLine(big), fmt.Sprintf("%d bytes of fields, more than 65536", bigSize)},
	}
	var content strings.Builder
	content.WriteString(edwHeader)
	wantReasons := map[string]string{} // line -> reason
	good := 0
	for i, l := range lines {
		content.WriteString(l.text)
		if l.reason == "" {
			good++
		} else {
			wantReasons[itoa(i+2)] = l.reason // the header is line 1
		}
	}
	path := filepath.Join(t.TempDir(), "edw.csv")
	if err := os.WriteFile(path, []byte(content.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	m := New(db, Options{Workers: 1, ChunkRows: 4})
	st, err := m.Run(ctx, []string{path})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != int64(good) || st.Rejects != int64(len(wantReasons)) {
		t.Errorf("stats %+v, want %d rows and %d rejects", st, good, len(wantReasons))
	}
	if n := countRows(t, db, `SELECT count(*) FROM reservations`); n != good {
		t.Errorf("%d reservations stored, want %d", n, good)
	}
	if n := countRows(t, db, `SELECT count(*) FROM reservations WHERE confirmation = '1000000012' AND action = 'cancel'`); n != 1 {
		t.Error("a Cancelled row is not stored as a cancel")
	}
	var out bytes.Buffer
	n, err := m.WriteRejects(ctx, &out, []string{path})
	if err != nil || n != int64(len(wantReasons)) {
		t.Fatalf("WriteRejects = %d, %v; want %d", n, err, len(wantReasons))
	}
	for _, secret := range []string{"Secret", "secret@", "555 0100", "crib"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("the rejects file holds personal data (%q):\n%s", secret, out.String())
		}
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "file,line,reason" {
		t.Errorf("header %v", recs[0])
	}
	for _, r := range recs[1:] {
		want, ok := wantReasons[r[1]]
		switch {
		case r[0] != path:
			t.Errorf("reject names file %s, want %s", r[0], path)
		case !ok:
			t.Errorf("line %s rejected (%s), it is well-formed or unknown", r[1], r[2])
		case !strings.HasPrefix(r[2], want):
			t.Errorf("line %s: reason %q, want %q", r[1], r[2], want)
		}
		delete(wantReasons, r[1])
	}
	for line, reason := range wantReasons {
		t.Errorf("line %s (%s) missing from the rejects", line, reason)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
