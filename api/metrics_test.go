package api

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	var srv *Server
	ts, _ := newTestServerWith(t, newStore(t, "postgres", fixture(t)), func(o *Options) { o.RateLimit = 1 }, &srv)
	cs := callers(t)
	call(t, ts, cs["partner H1"], "GET", "/v1/reservations/H1/C100", nil)
	call(t, ts, cs["none"], "GET", "/v1/reservations/H1/SECRET42", nil)
	call(t, ts, cs["none"], "GET", "/no/such/CONF77", nil)
	for range 3 {
		call(t, ts, cs["ann"], "GET", "/v1/guests/me/itineraries", nil)
	}
	// Not on the public listener: only on the admin one.
	if r := call(t, ts, cs["none"], "GET", "/metrics", nil); r.status != 404 {
		t.Fatalf("public /metrics: %d, want 404", r.status)
	}
	rec := httptest.NewRecorder()
	srv.AdminHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("admin /metrics: %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`resingest_api_requests_total{route="GET /v1/reservations/{hotel_code}/{confirmation}",status="200"} 1`,
		`resingest_api_requests_total{route="GET /v1/reservations/{hotel_code}/{confirmation}",status="401"} 1`,
		`resingest_api_requests_total{route="unrouted",status="404"} 2`, // one of them /metrics
		`resingest_api_requests_total{route="GET /v1/guests/me/itineraries",status="429"} 1`,
		`resingest_api_request_duration_seconds_count{route="GET /v1/guests/me/itineraries"} 3`,
		`resingest_api_rate_limited_total{limit="client"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, leak := range []string{"SECRET42", "CONF77", "ann@example.com"} {
		if strings.Contains(body, leak) {
			t.Errorf("/metrics shows %q", leak)
		}
	}
}
