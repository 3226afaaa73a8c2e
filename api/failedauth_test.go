package api

import (
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestFailedAuthLimit checks that an address that fails 3 times (bad
// tokens, bad signatures, lookups matching nothing) is refused with 429
// until the window gives it an attempt back, even with good credentials,
// while other addresses and the per-client limit are unaffected.
func TestFailedAuthLimit(t *testing.T) {
	t.Parallel()
	store := newStore(t, "postgres", fixture(t))
	clock := &testClock{t: time.Now()}
	ts, logs := newTestServer(t, store, func(o *Options) {
		o.FailedAuthLimit, o.FailedAuthWindow, o.Now = 3, 3*time.Minute, clock.Now
		o.RateLimit = 1000 // the per-client limit never trips here
	})
	h := ts.Config.Handler
	cs := callers(t)
	send := func(ip string, c caller, method, path, body string) response {
		t.Helper()
		req := httptest.NewRequest(method, ts.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.RemoteAddr = ip + ":4321"
		c.auth(t, req, []byte(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	}
	const mine = "/v1/guests/me/itineraries"
	wrongLookup := `{"confirmation":"C101","surname":"Nobody"}`
	goodLookup := `{"confirmation":"C101","surname":"Doe"}`
	badPartner := asPartner(Partner{AccessKeyID: partnerH1.AccessKeyID, SecretAccessKey: "wrong"})

	tests := []struct {
		name  string
		fails func(ip string) response // one failed attempt
		want  int                      // its status before the limit
	}{
		{"bad token", func(ip string) response { return send(ip, cs["bad token"], "GET", mine, "") }, 401},
		{"expired token", func(ip string) response { return send(ip, cs["expired"], "GET", mine, "") }, 401},
		{"bad signature", func(ip string) response {
			return send(ip, badPartner, "GET", "/v1/hotels/H1/arrivals?date=2024-06-01", "")
		}, 401},
		{"wrong surname", func(ip string) response { return send(ip, cs["none"], "POST", "/v1/itineraries/lookup", wrongLookup) }, 404},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip := "10.1.0." + string(rune('1'+i))
			for n := range 3 {
				if r := tt.fails(ip); r.status != tt.want {
					t.Fatalf("attempt %d: status %d, want %d: %s", n+1, r.status, tt.want, r.body)
				}
			}
			checkTooMany(t, tt.fails(ip))
			// Good credentials from the blocked address are refused too:
			// the limit is on the address, checked before credentials.
			checkTooMany(t, send(ip, cs["ann"], "GET", mine, ""))
			checkTooMany(t, send(ip, cs["none"], "POST", "/v1/itineraries/lookup", goodLookup))
			// Another address is not affected.
			if r := send(ip+"0", cs["ann"], "GET", mine, ""); r.status != 200 {
				t.Fatalf("another address: status %d, want 200", r.status)
			}
		})
	}
	t.Run("successes do not count", func(t *testing.T) {
		for n := range 10 {
			if r := send("10.2.0.1", cs["none"], "POST", "/v1/itineraries/lookup", goodLookup); r.status != 200 {
				t.Fatalf("lookup %d: status %d, want 200", n+1, r.status)
			}
		}
	})
	t.Run("an attempt comes back after window/limit", func(t *testing.T) {
		ip := "10.3.0.1"
		for range 3 {
			send(ip, cs["garbage"], "GET", mine, "")
		}
		r := send(ip, cs["ann"], "GET", mine, "")
		checkTooMany(t, r)
		if ra := r.header.Get("Retry-After"); ra != "60" {
			t.Errorf("Retry-After %q, want 60 (3 attempts per 3 minutes)", ra)
		}
		clock.Add(61 * time.Second)
		if r := send(ip, cs["ann"], "GET", mine, ""); r.status != 200 {
			t.Fatalf("after a minute: status %d, want 200", r.status)
		}
		if r := send(ip, cs["garbage"], "GET", mine, ""); r.status != 401 {
			t.Fatalf("the attempt given back: status %d, want 401", r.status)
		}
		checkTooMany(t, send(ip, cs["ann"], "GET", mine, ""))
	})
	if !strings.Contains(logs.String(), "rate_limited=failed_auth") {
		t.Errorf("the 429 is not in the access log")
	}
}
