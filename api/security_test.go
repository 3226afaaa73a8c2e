package api

import (
	"net/http"
	"strings"
	"testing"
)

// TestSecurityHeaders checks the headers every response carries, on every
// kind of response: data, problems, 304s, the document and the page.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	ts, _ := newTestServer(t, newStore(t, "postgres", fixture(t)), nil)
	cs := callers(t)
	first := call(t, ts, cs["partner H1"], "GET", "/v1/reservations/H1/C100", nil)
	tests := []struct {
		name, caller, method, path, body string
		etag                             string
		status                           int
		cache                            string // "" : no-store
		csp                              string // a part of the CSP
	}{
		{name: "reservation", caller: "partner H1", method: "GET", path: "/v1/reservations/H1/C100", status: 200},
		{name: "not modified", caller: "partner H1", method: "GET", path: "/v1/reservations/H1/C100", etag: first.header.Get("ETag"), status: 304},
		{name: "lookup", caller: "none", method: "POST", path: "/v1/itineraries/lookup", body: `{"confirmation":"C101","surname":"Doe"}`, status: 200},
		{name: "guest", caller: "ann", method: "GET", path: "/v1/guests/me/itineraries", status: 200},
		{name: "problem", caller: "none", method: "GET", path: "/v1/reservations/H1/C100", status: 401},
		{name: "unrouted", caller: "none", method: "GET", path: "/nothing", status: 404},
		{name: "bad value", caller: "partner H1", method: "GET", path: "/v1/reservations/H1/C%00", status: 400},
		{name: "healthz", caller: "none", method: "GET", path: "/healthz", status: 200},
		{name: "openapi", caller: "none", method: "GET", path: "/openapi.json", status: 200, cache: "public, max-age=300"},
		{name: "docs", caller: "none", method: "GET", path: "/docs", status: 200, cache: "public, max-age=300", csp: "script-src 'sha256-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			var r response
			if tt.etag != "" {
				req, _ := http.NewRequest(tt.method, ts.URL+tt.path, nil)
				req.Header.Set("If-None-Match", tt.etag)
				cs[tt.caller].auth(t, req, nil)
				r = do(t, req)
			} else {
				r = call(t, ts, cs[tt.caller], tt.method, tt.path, body)
			}
			if r.status != tt.status {
				t.Fatalf("status %d, want %d", r.status, tt.status)
			}
			h := r.header
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", h.Get("X-Content-Type-Options"))
			}
			wantCache := tt.cache
			if wantCache == "" {
				wantCache = "no-store"
			}
			if h.Get("Cache-Control") != wantCache {
				t.Errorf("Cache-Control %q, want %q", h.Get("Cache-Control"), wantCache)
			}
			csp := h.Get("Content-Security-Policy")
			if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, tt.csp) {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			if h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("X-Frame-Options %q, Referrer-Policy %q", h.Get("X-Frame-Options"), h.Get("Referrer-Policy"))
			}
		})
	}
}
