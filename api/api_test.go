package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// keys renders the items of a list response as HOTEL/CONF.
func keys(t testing.TB, body []byte) []string {
	t.Helper()
	var resp struct {
		Items      []Itinerary `json:"items"`
		HotelCode  string      `json:"hotel_code"`
		Date       string      `json:"date"`
		NextCursor string      `json:"next_cursor"`
	}
	if err := jsonStrict(body, &resp); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	out := []string{}
	for _, it := range resp.Items {
		out = append(out, it.HotelCode+"/"+it.Confirmation)
	}
	return out
}

// TestEndpoints runs every endpoint for every kind of caller against both
// stores.
func TestEndpoints(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ts, logs := newTestServer(t, newStore(t, kind, fixture(t)), nil)
			cs := callers(t)
			type tc struct {
				caller string
				method string
				path   string
				body   string
				status int
				want   []string // list endpoints: the keys, in order
			}
			var tests []tc
			add := func(method, path, body string, statuses map[string]int) {
				for name, st := range statuses {
					tests = append(tests, tc{caller: name, method: method, path: path, body: body, status: st})
				}
			}
			unauth := map[string]int{"none": 401, "bad token": 401, "expired": 401, "garbage": 401}
			with := func(m map[string]int) map[string]int {
				for k, v := range unauth {
					m[k] = v
				}
				return m
			}
			add("GET", "/v1/reservations/H1/C100", "", with(map[string]int{
				"ann": 200, "bo": 200, "cy": 404, "partner H1": 200, "partner H2": 404}))
			add("GET", "/v1/reservations/H1/NOPE", "", with(map[string]int{
				"ann": 404, "partner H1": 404, "partner H2": 404}))
			add("GET", "/v1/reservations/H2/C200", "", with(map[string]int{
				"ann": 404, "partner H1": 404, "partner H2": 200}))
			add("GET", "/v1/hotels/H1/arrivals?date=2024-06-01", "", with(map[string]int{
				"ann": 403, "partner H2": 403}))
			add("GET", "/v1/hotels/H1/arrivals?date=2024-13-01", "", with(map[string]int{
				"partner H1": 400, "partner H2": 403}))
			add("GET", "/v1/guests/me/itineraries?from=2024-06-10", "", with(map[string]int{
				"partner H1": 403, "cy": 200}))
			add("GET", "/v1/guests/me/itineraries?from=06/01/2024", "", with(map[string]int{"ann": 400}))
			add("POST", "/v1/itineraries/lookup", `{"confirmation":"C101","surname":"doe"}`, map[string]int{
				"bad token": 401, "expired": 401, "partner H2": 404})
			add("POST", "/v1/itineraries/lookup", `{"confirmation":"C101","surname":"Roe"}`, map[string]int{
				"none": 404, "ann": 404, "partner H1": 404})
			lists := []tc{
				{caller: "partner H1", method: "GET", path: "/v1/hotels/H1/arrivals?date=2024-06-01", status: 200,
					want: []string{"H1/C100", "H1/C101", "H1/C102"}},
				{caller: "partner H1", method: "GET", path: "/v1/hotels/H1/arrivals?date=2024-06-03", status: 200, want: []string{}},
				{caller: "partner H2", method: "GET", path: "/v1/hotels/H2/arrivals?date=2024-06-01", status: 200,
					want: []string{"H2/C100", "H2/C200"}},
				{caller: "ann", method: "GET", path: "/v1/guests/me/itineraries", status: 200,
					want: []string{"H1/C100", "H1/C102", "H1/C103"}},
				{caller: "ann", method: "GET", path: "/v1/guests/me/itineraries?from=2024-06-02&to=2024-06-02", status: 200,
					want: []string{"H1/C103"}},
				{caller: "ann", method: "GET", path: "/v1/guests/me/itineraries?to=2024-06-01", status: 200,
					want: []string{"H1/C100", "H1/C102"}},
				{caller: "cy", method: "GET", path: "/v1/guests/me/itineraries", status: 200, want: []string{"H1/C101"}},
				{caller: "none", method: "POST", path: "/v1/itineraries/lookup", body: `{"confirmation":"C101","surname":" DOE "}`,
					status: 200, want: []string{"H1/C101"}},
				{caller: "none", method: "POST", path: "/v1/itineraries/lookup", body: `{"confirmation":"C100","surname":"zed"}`,
					status: 200, want: []string{"H1/C100", "H2/C100"}},
				{caller: "partner H1", method: "POST", path: "/v1/itineraries/lookup", body: `{"confirmation":"C100","surname":"Zed"}`,
					status: 200, want: []string{"H1/C100"}},
				{caller: "ann", method: "POST", path: "/v1/itineraries/lookup", body: `{"confirmation":"C100","surname":"Aaron","hotel_code":"H1"}`,
					status: 200, want: []string{"H1/C100"}},
			}
			// Postgres finds a guest by any of the reservation's guests;
			// DynamoDB's by_guest index holds the primary guest only.
			boWant := map[string][]string{"postgres": {"H1/C100"}, "dynamo": {}}[kind]
			lists = append(lists, tc{caller: "bo", method: "GET", path: "/v1/guests/me/itineraries", status: 200, want: boWant})
			tests = append(tests, lists...)

			for _, tt := range tests {
				name := fmt.Sprintf("%s %s as %s", tt.method, tt.path, tt.caller)
				t.Run(name, func(t *testing.T) {
					var body []byte
					if tt.body != "" {
						body = []byte(tt.body)
					}
					c, ok := cs[tt.caller]
					if !ok {
						t.Fatalf("no caller %q", tt.caller)
					}
					r := call(t, ts, c, tt.method, tt.path, body)
					if r.status != tt.status {
						t.Fatalf("status %d, want %d; body %s", r.status, tt.status, r.body)
					}
					if r.header.Get(RequestIDHeader) == "" {
						t.Error("no X-Request-Id on the response")
					}
					if tt.status >= 400 {
						p := checkProblem(t, r)
						if tt.status == 404 && p.Detail != notFoundDetail {
							t.Errorf("404 detail %q, want the one detail %q", p.Detail, notFoundDetail)
						}
						return
					}
					if ct := r.header.Get("Content-Type"); ct != "application/json" {
						t.Errorf("Content-Type %q", ct)
					}
					if tt.want != nil {
						if got := keys(t, r.body); !slices.Equal(got, tt.want) {
							t.Errorf("items %v, want %v", got, tt.want)
						}
					}
				})
			}
			t.Run("no personal data in logs", func(t *testing.T) {
				out := logs.String()
				if !strings.Contains(out, "route=\"GET /v1/reservations/{hotel_code}/{confirmation}\"") {
					t.Fatalf("access log lacks the route pattern:\n%s", out)
				}
				for _, pii := range []string{"ann@", "Ann@", "bo@", "BO@", "cy@", "Zed", "Aaron", "Doe", "Roe", "C100"} {
					if strings.Contains(out, pii) {
						t.Errorf("logs contain %q:\n%s", pii, out)
					}
				}
			})
		})
	}
}

// TestItineraryDocument checks the document of one reservation, the same
// from both stores.
func TestItineraryDocument(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ts, _ := newTestServer(t, newStore(t, kind, fixture(t)), nil)
			r := call(t, ts, asPartner(partnerH1), "GET", "/v1/reservations/H1/C103", nil)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var it Itinerary
			if err := jsonStrict(r.body, &it); err != nil {
				t.Fatal(err)
			}
			want := Itinerary{
				HotelCode: "H1", ChainCode: "RC", Confirmation: "C103", Status: "Cancel", Cancelled: true,
				Arrival: "2024-06-02", Departure: "2024-06-05", Rooms: 2, Adults: 2,
				Stays: []Stay{{RoomType: "KING", RatePlan: "BAR", Rooms: 2, Arrival: "2024-06-02", Departure: "2024-06-05",
					Adults: 2, Totals: Totals{AfterTax: "450.50", BeforeTax: "400.00", Currency: "USD"}}},
				// Partner H1 has no pii scope: the address is masked.
				Guests:      []Guest{{Primary: true, GivenName: "Ann", Surname: "Zed", Email: "A***@Example.com"}},
				Totals:      Totals{AfterTax: "450.50", BeforeTax: "400.00", Currency: "USD"},
				ExternalIDs: []ExternalID{{Type: "14", Value: "C103", Source: "PMS"}},
				// Nor the text of the special requests (personal data).
				SpecialRequests: []SpecialRequest{{Code: "1.14"}},
				CreatedAt:       "2024-04-01T09:00:00Z",
				LastUpdate:      "2024-05-01T10:00:00Z",
			}
			if fmt.Sprintf("%+v", it) != fmt.Sprintf("%+v", want) {
				t.Errorf("document\n got %+v\nwant %+v", it, want)
			}
			if strings.Contains(string(r.body), "1111") || strings.Contains(string(r.body), "null") {
				t.Errorf("document carries payment data or nulls: %s", r.body)
			}
		})
	}
}

// TestArrivalsPages walks the arrivals with small pages and checks the
// cursor cannot be used for another hotel or date.
func TestArrivalsPages(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ts, _ := newTestServer(t, newStore(t, kind, fixture(t)), nil)
			p := asPartner(partnerH1)
			var got []string
			cursor, pages, lastCursor := "", 0, ""
			for {
				path := "/v1/hotels/H1/arrivals?date=2024-06-01&limit=2"
				if cursor != "" {
					path += "&cursor=" + cursor
				}
				r := call(t, ts, p, "GET", path, nil)
				if r.status != 200 {
					t.Fatalf("page %d: status %d %s", pages, r.status, r.body)
				}
				var resp ArrivalsResponse
				if err := jsonStrict(r.body, &resp); err != nil {
					t.Fatal(err)
				}
				if len(resp.Items) > 2 {
					t.Fatalf("page of %d items, limit 2", len(resp.Items))
				}
				for _, it := range resp.Items {
					got = append(got, it.Confirmation)
				}
				pages++
				if resp.NextCursor == "" {
					break
				}
				cursor, lastCursor = resp.NextCursor, resp.NextCursor
				if pages > 5 {
					t.Fatal("too many pages")
				}
			}
			if want := []string{"C100", "C101", "C102"}; !slices.Equal(got, want) {
				t.Errorf("pages gave %v, want %v", got, want)
			}
			if lastCursor == "" {
				t.Fatal("a limit of 2 over 3 arrivals gave no cursor")
			}
			for _, path := range []string{
				"/v1/hotels/H1/arrivals?date=2024-06-02&cursor=" + lastCursor,
				"/v1/hotels/H1/arrivals?date=2024-06-01&cursor=not-a-cursor",
				"/v1/hotels/H1/arrivals?date=2024-06-01&limit=0",
				"/v1/hotels/H1/arrivals?date=2024-06-01&limit=201",
				"/v1/hotels/H1/arrivals",
			} {
				r := call(t, ts, p, "GET", path, nil)
				if r.status != http.StatusBadRequest {
					t.Errorf("%s: status %d, want 400: %s", path, r.status, r.body)
					continue
				}
				checkProblem(t, r)
			}
		})
	}
}
