package api

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLimiterSet(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	t.Run("burst then refill", func(t *testing.T) {
		l := newLimiterSet(1, 2, 10)
		for i, want := range []bool{true, true, false} {
			if ok, _ := l.allow("a", t0); ok != want {
				t.Fatalf("call %d: allowed %v, want %v", i, ok, want)
			}
		}
		if ok, wait := l.allow("a", t0); ok || wait <= 0 || wait > time.Second {
			t.Fatalf("refused call: ok %v wait %v, want false and (0,1s]", ok, wait)
		}
		if ok, _ := l.allow("b", t0); !ok {
			t.Fatal("another key shares the bucket")
		}
		if ok, _ := l.allow("a", t0.Add(time.Second)); !ok {
			t.Fatal("no token after a second")
		}
	})
	t.Run("bounded keys", func(t *testing.T) {
		l := newLimiterSet(1, 1, 2)
		l.allow("a", t0)
		l.allow("b", t0)
		if ok, _ := l.allow("c", t0); ok {
			t.Fatal("a third key was taken while the two are limited")
		}
		// Once a and b are full again they can be forgotten.
		if ok, _ := l.allow("c", t0.Add(2*time.Second)); !ok {
			t.Fatal("a third key was refused after the others refilled")
		}
		if len(l.m) > 2 {
			t.Fatalf("%d keys tracked, want <= 2", len(l.m))
		}
	})
	t.Run("nil allows all", func(t *testing.T) {
		var l *limiterSet = newLimiterSet(0, 0, 1)
		if ok, _ := l.allow("a", t0); !ok {
			t.Fatal("no limit refused")
		}
	})
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	store := newStore(t, "postgres", fixture(t))
	t.Run("client", func(t *testing.T) {
		ts, logs := newTestServer(t, store, func(o *Options) { o.RateLimit = 1 }) // burst 2
		ann := asGuest(t, ann)
		var last response
		for range 3 {
			last = call(t, ts, ann, "GET", "/v1/guests/me/itineraries", nil)
		}
		checkTooMany(t, last)
		if r := call(t, ts, asPartner(partnerH1), "GET", "/v1/hotels/H1/arrivals?date=2026-01-01", nil); r.status != 200 {
			t.Fatalf("a partner was limited by a guest's calls: %d", r.status)
		}
		if !strings.Contains(logs.String(), "rate_limited=client") {
			t.Errorf("the 429 is not in the access log:\n%s", logs)
		}
	})
	t.Run("lookup", func(t *testing.T) {
		srv, err := New(Options{Store: store, LookupRateLimit: 2, Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		h := srv.Handler()
		lookup := func(ip, conf string) response {
			req := httptest.NewRequest("POST", "/v1/itineraries/lookup",
				strings.NewReader(`{"confirmation":"`+conf+`","surname":"Nobody"}`))
			req.RemoteAddr = ip + ":1234"
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
		}
		for i := range 2 {
			if r := lookup("10.0.0.1", "X"+strconv.Itoa(i)); r.status != 404 {
				t.Fatalf("lookup %d: %d, want 404", i, r.status)
			}
		}
		checkTooMany(t, lookup("10.0.0.1", "X9"))
		// One confirmation guessed at from many addresses locks nobody
		// out (the guest's own lookup still works); it counts as an
		// anomaly instead.
		for i := range 6 {
			if r := lookup("10.0.1."+strconv.Itoa(i), "SAME"); r.status != 404 {
				t.Fatalf("address %d: %d, want 404 (no global lockout)", i, r.status)
			}
		}
		goodReq := httptest.NewRequest("POST", "/v1/itineraries/lookup", strings.NewReader(`{"confirmation":"C101","surname":"Doe"}`))
		goodReq.RemoteAddr = "10.0.2.1:1"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, goodReq)
		if rec.Code != 200 {
			t.Fatalf("the guest's own lookup after others' guesses: %d, want 200", rec.Code)
		}
		if m := scrape(t, srv); !strings.Contains(m, "resingest_api_lookup_anomalies_total 4\n") {
			t.Errorf("lookup anomalies not 4 (6 misses of one confirmation, budget 2):\n%s", grepLines(m, "anomal"))
		}
	})
}

func checkTooMany(t *testing.T, r response) {
	t.Helper()
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429 (body %s)", r.status, r.body)
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q, want whole seconds >= 1", r.header.Get("Retry-After"))
	}
	if p := checkProblem(t, r); p.Type != ProblemRateLimited {
		t.Errorf("problem type %q, want %q", p.Type, ProblemRateLimited)
	}
}

// scrape returns what the admin listener's /metrics shows.
func scrape(t testing.TB, srv *Server) string {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.AdminHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("admin /metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// grepLines returns the lines of s containing sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestPartnerLookupLimit: a partner's lookups outside its hotels (no
// hotel named, or another one) are limited like anonymous ones, per key;
// lookups naming its own hotel are not.
func TestPartnerLookupLimit(t *testing.T) {
	t.Parallel()
	ts, logs := newTestServer(t, newStore(t, "postgres", fixture(t)), func(o *Options) { o.LookupRateLimit = 2 })
	h1, h2 := asPartner(partnerH1), asPartner(partnerH2)
	lookup := func(c caller, body string) response {
		return call(t, ts, c, "POST", "/v1/itineraries/lookup", []byte(body))
	}
	// Partner H2 probes H1's confirmations.
	for i, body := range []string{`{"confirmation":"C101","surname":"Doe"}`, `{"confirmation":"C102","surname":"Zed","hotel_code":"H1"}`} {
		if r := lookup(h2, body); r.status != 404 {
			t.Fatalf("probe %d: status %d, want 404", i+1, r.status)
		}
	}
	checkTooMany(t, lookup(h2, `{"confirmation":"C100","surname":"Zed"}`))
	if !strings.Contains(logs.String(), "rate_limited=lookup_partner") {
		t.Errorf("the partner's 429 is not logged as lookup_partner")
	}
	// In its own hotel it is not limited.
	for i := range 5 {
		if r := lookup(h2, `{"confirmation":"C200","surname":"Roe","hotel_code":"H2"}`); r.status != 200 {
			t.Fatalf("own-hotel lookup %d: status %d, want 200", i+1, r.status)
		}
	}
	// Another partner has its own budget.
	if r := lookup(h1, `{"confirmation":"C101","surname":"Doe"}`); r.status != 200 {
		t.Fatalf("partner H1: status %d, want 200", r.status)
	}
}
