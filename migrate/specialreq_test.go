package migrate

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/resingest/resingest/reservation"
)

// requestsOf decodes a special_requests cell with encoding/json,
// independently of the loader: nil for none.
func requestsOf(t testing.TB, cell string) []reservation.SpecialRequest {
	t.Helper()
	if cell == "" {
		return nil
	}
	var list []reservation.SpecialRequest
	if err := json.Unmarshal([]byte(cell), &list); err != nil {
		t.Fatalf("special_requests cell: %v", err)
	}
	return list
}

// sameRequests compares two lists, nil and empty alike.
func sameRequests(a, b []reservation.SpecialRequest) bool {
	return len(a) == 0 && len(b) == 0 || slices.Equal(a, b)
}

// specialRequestCells are cells the decoder accepts, with what
// encoding/json makes of them (names in any case, null as "").
var specialRequestCells = []string{
	`[]`, " [ ]\t\r\n", `[{}]`, `null`, `[null]`,
	`[{"code":"CRIB","text":"Crib in room"}]`,
	`[{"code":"CRIB","name":"","text":"Crib in room"}]`,
	`[{"text":"Yes","name":"extra bed","code":"1.14"},{"code":"2.1"}]`,
	` [ { "code" : "x" } , { } , {"name":"Zoë"} ] `,
	`[{"text":"\"q\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \u2028 \uFFFD \u0026 tail"}]`,
	`[{"code":"\u0041","name":"a\"","text":"x"}]`,
	`[{"Code":"x","TEXT":"y"}]`, `[{"code":null}]`, `[{"code":"\ud800"}]`,
}

// TestDecodeSpecialRequests: accepted cells normalise to the stream's
// encoding of what encoding/json decodes; everything else is rejected
// with a reason that never holds the cell.
func TestDecodeSpecialRequests(t *testing.T) {
	for _, cell := range specialRequestCells {
		got, err := decodeSpecialRequests(cell)
		if err != nil {
			t.Errorf("%s: %v", cell, err)
			continue
		}
		if want := requestsOf(t, cell); !sameRequests(got, want) {
			t.Errorf("%s decoded as %+v, want %+v", cell, got, want)
		}
		norm, err := normalizeSpecialRequests(cell)
		want := ""
		if len(got) > 0 {
			want = string(reservation.AppendSpecialRequests(nil, got))
		}
		if err != nil || norm != want {
			t.Errorf("%s normalised to %s, %v; want %s", cell, norm, err, want)
		}
	}
	if got, _ := decodeSpecialRequests(`[{"Code":"x","TEXT":"y"}]`); len(got) != 1 || got[0] != (reservation.SpecialRequest{Code: "x", Text: "y"}) {
		t.Errorf("member names in another case: %+v", got)
	}
	// A card number typed into a request is masked as the stream masks it.
	carded := `[{"code":"GUAR","name":"card 4111111111111111","text":"pay with 4111 1111 1111 1111, thanks"}]`
	if norm, err := normalizeSpecialRequests(carded); err != nil || norm != `[{"code":"GUAR","name":"card XXXXXXXXXXXX1111","text":"pay with XXXX XXXX XXXX 1111, thanks"}]` {
		t.Errorf("card in a request normalised to %s, %v", norm, err)
	}
	// A cell in the stream's encoding is kept as it is.
	canonical := `[{"code":"CRIB","name":"","text":"Crib in room"},{"code":"","name":"extra bed","text":"Yes"}]`
	if norm, _ := normalizeSpecialRequests(canonical); norm != canonical {
		t.Errorf("a canonical cell is changed: %s", norm)
	}

	for _, tc := range []struct {
		cell string
		want error // nil: refused by parseRow's check of every column
	}{
		{`{}`, errRequestsFormat}, {`[1]`, errRequestsFormat}, {`["x"]`, errRequestsFormat}, {`[[]]`, errRequestsFormat},
		{`[{"code":1}]`, errRequestsFormat}, {`[{"code":true}]`, errRequestsFormat}, {`[{"code":{}}]`, errRequestsFormat},
		{`[{"note":"x"}]`, errRequestsFormat}, {`[{"code":"x"},]`, errRequestsFormat},
		{`[{"code":"x",}]`, errRequestsFormat}, {`[{"code":"x"}`, errRequestsFormat},
		{`[{"code":"x"`, errRequestsFormat}, {`[{"code":"x`, errRequestsFormat}, {`[{"code":"x\`, errRequestsFormat},
		{`[{"code":"x"}] x`, errRequestsFormat}, {`[{"code":"x"}][]`, errRequestsFormat},
		{`[{"code" "x"}]`, errRequestsFormat}, {`[{"code":"x" "name":"y"}]`, errRequestsFormat},
		{`[{code:"x"}]`, errRequestsFormat}, {`[{'code':'x'}]`, errRequestsFormat},
		{`[{"code":"\x"}]`, errRequestsFormat}, {`[{"code":"\u12G4"}]`, errRequestsFormat},
		{`[{"code":"\u12"}]`, errRequestsFormat},
		{"[{\"code\":\"a\tb\"}]", errRequestsFormat},
		{"\ufeff[]", errRequestsFormat}, {` `, errRequestsFormat},
		{`[{"code":"a\u0000b"}]`, errRequestsNUL}, {`[{"code":"\\\u0000"}]`, errRequestsNUL},
		{"[{\"code\":\"a\x00b\"}]", nil}, {"[{\"code\":\"\xff\"}]", nil}, {"[{\"code\":\"\xed\xa0\x80\"}]", nil},
	} {
		if _, err := decodeSpecialRequests(tc.cell); tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%q: %v, want %v", tc.cell, err, tc.want)
		}
		if _, rerr := parseRow(2, goodFields("1000000001", map[int]string{colSpecialRequests: tc.cell})); rerr == nil ||
			rerr.Column != "special_requests" || len(tc.cell) > 2 && strings.Contains(rerr.Error(), tc.cell) {
			t.Errorf("%q: parseRow gave %v, want a reject of special_requests without the cell", tc.cell, rerr)
		}
	}
}

// FuzzDecodeSpecialRequests: a cell the decoder accepts normalises to a
// cell that decodes to the same (masked) list and stays as it is.
func FuzzDecodeSpecialRequests(f *testing.F) {
	for _, c := range specialRequestCells {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, cell string) {
		norm, err := normalizeSpecialRequests(cell)
		if err != nil || norm == "" {
			return
		}
		again, err := normalizeSpecialRequests(norm)
		if err != nil || again != norm || !json.Valid([]byte(norm)) {
			t.Fatalf("%q normalised to %q, which normalises to %q, %v", cell, norm, again, err)
		}
	})
}

// TestLegacyExtract: an extract without the special_requests column (21
// columns, as before it existed) loads beside one with it, its rows with
// no special requests, in both load modes; a row of 22 fields in it is a
// reject, and a header of neither layout is an error naming both.
func TestLegacyExtract(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	legacyHeader := strings.TrimSuffix(edwHeader, ",special_requests\n") + "\n"
	legacy := filepath.Join(dir, "edw-0001.csv")
	content := legacyHeader + csvLine(goodFields("1000000001", nil)[:legacyColumns]) +
		csvLine(goodFields("1000000002", nil)[:legacyColumns]) + goodRow("1000000003", nil)
	if err := os.WriteFile(legacy, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	current := filepath.Join(dir, "edw-0002.csv")
	if err := os.WriteFile(current, []byte(edwHeader+goodRow("1000000004", nil)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, presort := range []bool{false, true} {
		t.Run(map[bool]string{false: "file by file", true: "presorted"}[presort], func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			db, _ := testDB(t)
			m := New(db, Options{Workers: 1, Presort: presort, SpillDir: t.TempDir()})
			st, err := m.Run(ctx, []string{legacy, current})
			if err != nil {
				t.Fatal(err)
			}
			if st.Rows != 3 || st.Rejects != 1 {
				t.Errorf("stats %+v, want 3 rows and 1 reject", st)
			}
			got := map[string]string{}
			rows, err := db.Pool().Query(ctx, `SELECT confirmation, special_requests::text FROM reservations`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var conf, reqs string
				if err := rows.Scan(&conf, &reqs); err != nil {
					t.Fatal(err)
				}
				got[conf] = reqs
			}
			if rows.Err() != nil {
				t.Fatal(rows.Err())
			}
			want := map[string]string{"1000000001": "[]", "1000000002": "[]",
				"1000000004": `[{"code": "CRIB", "name": "", "text": "Secret crib"}]`}
			if len(got) != len(want) {
				t.Errorf("stored %v, want %v", got, want)
			}
			for conf, w := range want {
				if got[conf] != w {
					t.Errorf("%s: special_requests %s, want %s", conf, got[conf], w)
				}
			}
			var rejects strings.Builder
			if _, err := m.WriteRejects(ctx, &rejects, []string{legacy}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(rejects.String(), `,4,"22 fields, want 21"`) {
				t.Errorf("rejects:\n%s\nwant line 4: 22 fields, want 21", rejects.String())
			}
		})
	}

	db, _ := testDB(t)
	for _, header := range []string{
		"confirmation,hotel_code\n",
		strings.TrimSuffix(legacyHeader, "\n") + ",notes\n",                                  // 22 columns, the last unknown
		strings.Replace(edwHeader, ",itinerary_id,special_requests", ",special_requests", 1), // 21, ending wrong
	} {
		bad := filepath.Join(t.TempDir(), "edw.csv")
		if err := os.WriteFile(bad, []byte(header), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := New(db, Options{Workers: 1}).Run(testContext(t), []string{bad})
		if !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), `want 22 from "confirmation" to "special_requests" (or 21 to "itinerary_id"`) {
			t.Errorf("header %q: %v, want an error naming both layouts", header, err)
		}
	}
}
