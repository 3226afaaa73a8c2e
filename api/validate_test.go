package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/resingest/resingest/reservation"
)

func TestCheckText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    string
		ok   bool
	}{
		{"plain", "C100", true},
		{"accents and CJK", "Müller-Lüdenscheidt 山田", true},
		{"joiner", "क्\u200dष", true},
		{"at the limit", strings.Repeat("a", 64), true},
		{"over the limit", strings.Repeat("a", 65), false},
		{"NUL", "C1\x0000", false},
		{"tab", "C1\t00", false},
		{"newline", "C1\n00", false},
		{"DEL", "C1\x7f", false},
		{"C1 control", "C1\u0085", false},
		{"line separator", "C1\u2028", false},
		{"private use", "C1\ue000", false},
		{"unassigned", "C1\U000e0080", false},
		{"replacement character", "C1\ufffd", false},
		{"invalid UTF-8", "C\xc3\x28", false},
		{"overlong slash", "\xc0\xaf", false},
		{"surrogate", "\xed\xa0\x80", false},
		{"above U+10FFFF", "\xf4\x90\x80\x80", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkText("hotel_code", tt.v, 64, true)
			if (err == nil) != tt.ok {
				t.Fatalf("checkText(%q) = %v, want ok %v", tt.v, err, tt.ok)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "hotel_code ") {
				t.Errorf("error %q does not name the field", err)
			}
		})
	}
}

func TestLogValue(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"C100":                     "C100",
		strings.Repeat("x", 40):    "xxxxxxxxxxxxxxxx...(40 bytes)",
		"a\x00b\nc\"d\\é":          "a?b?c?d???",
		"line\r\nforged=entry ok!": "line??forged=ent...(22 bytes)",
	} {
		if got := logValue(in); got != want {
			t.Errorf("logValue(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("Q", 3000)
	if got := redact("dynamo: get H1/"+long+": boom", long); strings.Contains(got, strings.Repeat("Q", logPrefixBytes+1)) {
		t.Errorf("redact kept the value: %.200s", got)
	}
}

// hostileCase is one request with a value the API must refuse with 400
// without echoing it or logging more than its prefix.
type hostileCase struct {
	name   string
	caller string
	method string
	path   string
	body   string
	marker string // a run of bytes of the hostile value that must appear nowhere
}

func hostileCases() []hostileCase {
	big := strings.Repeat("Q", 10_000)
	bigConf := strings.Repeat("K", 10_000)
	long := strings.Repeat("L", MaxConfirmationBytes+1)
	q17, k17, l17 := strings.Repeat("Q", 17), strings.Repeat("K", 17), strings.Repeat("L", 17)
	cases := []hostileCase{
		{"10 kB hotel in the path", "partner H1", "GET", "/v1/reservations/" + big + "/C100", "", q17},
		{"10 kB confirmation in the path", "partner H1", "GET", "/v1/reservations/H1/" + bigConf, "", k17},
		{"confirmation one byte over", "partner H1", "GET", "/v1/reservations/H1/" + long, "", l17},
		{"NUL in the path", "partner H1", "GET", "/v1/reservations/H1/C1%0000", "", ""},
		{"newline in the path", "partner H1", "GET", "/v1/reservations/H1/C1%0Aforged", "", ""},
		{"10 kB hotel of arrivals", "partner H1", "GET", "/v1/hotels/" + big + "/arrivals?date=2024-06-01", "", q17},
		{"NUL hotel of arrivals", "partner H1", "GET", "/v1/hotels/H1%00/arrivals?date=2024-06-01", "", ""},
		{"NUL in a cursor", "partner H1", "GET", "/v1/hotels/H1/arrivals?date=2024-06-01&cursor=a%00b", "", ""},
		{"2 kB cursor", "partner H1", "GET", "/v1/hotels/H1/arrivals?date=2024-06-01&cursor=" + strings.Repeat("Q", 2048), "", q17},
		{"NUL date", "partner H1", "GET", "/v1/hotels/H1/arrivals?date=2024-06-0%00", "", ""},
		{"long limit", "partner H1", "GET", "/v1/hotels/H1/arrivals?date=2024-06-01&limit=" + strings.Repeat("0", 300) + "1", "", ""},
		{"NUL from", "ann", "GET", "/v1/guests/me/itineraries?from=%00", "", ""},
		{"10 kB confirmation, anonymous", "none", "POST", "/v1/itineraries/lookup", `{"confirmation":"` + bigConf + `","surname":"Zed"}`, k17},
		{"10 kB hotel, anonymous", "none", "POST", "/v1/itineraries/lookup", `{"confirmation":"C100","surname":"Zed","hotel_code":"` + big + `"}`, q17},
		{"10 kB surname, anonymous", "none", "POST", "/v1/itineraries/lookup", `{"confirmation":"C100","surname":"` + big + `"}`, q17},
		{"NUL confirmation", "none", "POST", "/v1/itineraries/lookup", `{"confirmation":"C1\u000000","surname":"Zed"}`, ""},
		{"NUL surname", "none", "POST", "/v1/itineraries/lookup", `{"confirmation":"C100","surname":"Z\u0000ed"}`, ""},
		{"NUL hotel", "none", "POST", "/v1/itineraries/lookup", `{"confirmation":"C100","surname":"Zed","hotel_code":"H\u00001"}`, ""},
		{"lone surrogate", "none", "POST", "/v1/itineraries/lookup", `{"confirmation":"C\ud800","surname":"Zed"}`, ""},
		{"invalid UTF-8 bytes", "none", "POST", "/v1/itineraries/lookup", "{\"confirmation\":\"C\xff\xfe\",\"surname\":\"Zed\"}", ""},
		{"partner, 10 kB confirmation", "partner H2", "POST", "/v1/itineraries/lookup", `{"confirmation":"` + bigConf + `","surname":"Zed"}`, k17},
	}
	for _, enc := range []string{"%C3%28", "%FF%FE%FD", "%C0%AF", "%ED%A0%80", "%F4%90%80%80"} {
		cases = append(cases,
			hostileCase{"invalid UTF-8 " + enc + " in the confirmation", "partner H1", "GET", "/v1/reservations/H1/C" + enc, "", ""},
			hostileCase{"invalid UTF-8 " + enc + " in the hotel", "partner H1", "GET", "/v1/reservations/H" + enc + "/C100", "", ""},
			hostileCase{"invalid UTF-8 " + enc + " in the arrivals hotel", "partner H1", "GET", "/v1/hotels/H" + enc + "/arrivals?date=2024-06-01", "", ""},
		)
	}
	return cases
}

// TestHostileInput sends the values that made the API answer 500 (issue
// 15): each is a 400 problem that does not echo the value, on every store,
// and the logs hold at most its short prefix.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ts, logs := newTestServer(t, newStore(t, kind, fixture(t)), nil)
			cs := callers(t)
			for _, tc := range hostileCases() {
				t.Run(tc.name, func(t *testing.T) {
					var body []byte
					if tc.body != "" {
						body = []byte(tc.body)
					}
					r := call(t, ts, cs[tc.caller], tc.method, tc.path, body)
					if r.status != http.StatusBadRequest {
						t.Fatalf("status %d, want 400: %.300s", r.status, r.body)
					}
					p := checkProblem(t, r)
					if p.Type != ProblemBadRequest {
						t.Errorf("problem type %q", p.Type)
					}
					if tc.marker != "" && strings.Contains(string(r.body), tc.marker) {
						t.Errorf("the response echoes the value: %.300s", r.body)
					}
					if r.header.Get("X-Content-Type-Options") != "nosniff" {
						t.Errorf("no nosniff on a 400")
					}
				})
			}
			out := logs.String()
			for _, tc := range hostileCases() {
				if tc.marker != "" && strings.Contains(out, tc.marker) {
					t.Errorf("%s: the logs carry more than a prefix of the value", tc.name)
				}
			}
			for _, bad := range []string{"\x00", "%00", "\xff"} {
				if strings.Contains(out, bad) {
					t.Errorf("the logs carry %q", bad)
				}
			}
		})
	}
}

// corruptKeyStore passes every read on to a real store with the key made
// into one the store itself refuses (a NUL and 3,000 more bytes), as if
// the edge checks had let it through.
type corruptKeyStore struct{ Store }

const corruption = "\x00" + "CORRUPTED-KEY-VALUE"

func corruptKey(s string) string { return s + corruption + strings.Repeat("X", 3000) }

func (c corruptKeyStore) Get(ctx context.Context, k reservation.Key) (Stored, error) {
	k.Confirmation = corruptKey(k.Confirmation)
	return c.Store.Get(ctx, k)
}

func (c corruptKeyStore) KeysByConfirmation(ctx context.Context, confirmation string, limit int) ([]reservation.Key, error) {
	return c.Store.KeysByConfirmation(ctx, corruptKey(confirmation), limit)
}

// TestStoreRefusesKey checks that each store reports a key it cannot
// hold as ErrBadKey (or not found), and that the API answers that with a
// 400 or 404, never a 500, without logging the key.
func TestStoreRefusesKey(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			store := newStore(t, kind, fixture(t))
			ctx := testContext(t)
			for name, k := range map[string]reservation.Key{
				"3 kB confirmation": {HotelCode: "H1", Confirmation: strings.Repeat("C", 3000)},
				"3 kB hotel":        {HotelCode: strings.Repeat("H", 3000), Confirmation: "C100"},
				"NUL":               {HotelCode: "H1", Confirmation: "C1\x0000"},
				"invalid UTF-8":     {HotelCode: "H1", Confirmation: "C\xff\xfe"},
			} {
				_, err := store.Get(ctx, k)
				if !errors.Is(err, ErrBadKey) && !errors.Is(err, ErrNotFound) {
					t.Errorf("Get %s: %v, want ErrBadKey or ErrNotFound", name, err)
				}
				_, err = store.KeysByConfirmation(ctx, k.Confirmation, 5)
				if err != nil && !errors.Is(err, ErrBadKey) {
					t.Errorf("KeysByConfirmation %s: %v, want ErrBadKey or nothing", name, err)
				}
			}
			ts, logs := newTestServer(t, corruptKeyStore{store}, nil)
			cs := callers(t)
			for _, tc := range []struct{ caller, method, path, body string }{
				{"partner H1", "GET", "/v1/reservations/H1/C100", ""},
				{"none", "POST", "/v1/itineraries/lookup", `{"confirmation":"C100","surname":"Zed"}`},
				{"none", "POST", "/v1/itineraries/lookup", `{"confirmation":"C100","surname":"Zed","hotel_code":"H1"}`},
			} {
				var body []byte
				if tc.body != "" {
					body = []byte(tc.body)
				}
				r := call(t, ts, cs[tc.caller], tc.method, tc.path, body)
				if r.status != http.StatusBadRequest && r.status != http.StatusNotFound {
					t.Errorf("%s %s: status %d, want 400 or 404: %s", tc.method, tc.path, r.status, r.body)
				}
				checkProblem(t, r)
			}
			if out := logs.String(); strings.Contains(out, "CORRUPTED-KEY-VALUE") || strings.Contains(out, "XXXXXXXXXXXXXXXXX") {
				t.Errorf("the logs carry the refused key:\n%.2000s", out)
			}
		})
	}
}

// TestProblemNeverEchoes: the detail of a refused value names the field
// and the rule only.
func TestProblemNeverEchoes(t *testing.T) {
	t.Parallel()
	err := checkKeyPart("confirmation", "SECRET\x00VALUE", MaxConfirmationBytes)
	d := badValueDetail(err)
	if strings.Contains(d, "SECRET") || !strings.HasPrefix(d, "confirmation ") {
		t.Fatalf("detail %q", d)
	}
	b, _ := json.Marshal(d)
	if strings.Contains(string(b), `\u0000`) {
		t.Fatalf("detail carries a NUL: %s", b)
	}
}
