package api

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestSigV4 checks that requests signed with the AWS SDK's signer verify,
// and that altered, stale, foreign and replayed ones do not.
func TestSigV4(t *testing.T) {
	t.Parallel()
	ts, _ := newTestServer(t, newStore(t, "postgres", fixture(t)), nil)
	lookupBody := []byte(`{"confirmation":"C101","surname":"Doe"}`)

	newReq := func(t *testing.T, method, path string, body []byte) *http.Request {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(method, ts.URL+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req
	}
	setBody := func(req *http.Request, b []byte) {
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.ContentLength = int64(len(b))
		req.GetBody = nil
	}

	tests := []struct {
		name   string
		method string
		path   string
		body   []byte
		at     time.Duration // signing time relative to now
		signer Partner
		alter  func(*http.Request)
		status int
	}{
		{name: "get", method: "GET", path: "/v1/reservations/H1/C100", status: 200},
		{name: "query", method: "GET", path: "/v1/hotels/H1/arrivals?date=2024-06-01&limit=2", status: 200},
		{name: "post", method: "POST", path: "/v1/itineraries/lookup", body: lookupBody, status: 200},
		{name: "escaped path", method: "GET", path: "/v1/reservations/H1/C%20X%2FY", status: 404},
		{name: "four minutes old", method: "GET", path: "/v1/reservations/H1/C100", at: -4 * time.Minute, status: 200},
		{name: "changed path", method: "GET", path: "/v1/reservations/H1/C100", status: 401,
			alter: func(r *http.Request) { r.URL.Path = "/v1/reservations/H1/C101" }},
		{name: "changed query", method: "GET", path: "/v1/hotels/H1/arrivals?date=2024-06-01", status: 401,
			alter: func(r *http.Request) { r.URL.RawQuery = "date=2024-06-02" }},
		{name: "added query parameter", method: "GET", path: "/v1/hotels/H1/arrivals?date=2024-06-01", status: 401,
			alter: func(r *http.Request) { r.URL.RawQuery += "&limit=1" }},
		{name: "changed body, same length", method: "POST", path: "/v1/itineraries/lookup", body: lookupBody, status: 401,
			alter: func(r *http.Request) { setBody(r, []byte(`{"confirmation":"C100","surname":"Zed"}`)) }},
		{name: "changed signed header", method: "POST", path: "/v1/itineraries/lookup", body: lookupBody, status: 401,
			alter: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }},
		{name: "changed date header", method: "GET", path: "/v1/reservations/H1/C100", status: 401,
			alter: func(r *http.Request) {
				r.Header.Set("X-Amz-Date", time.Now().UTC().Add(time.Second*-30).Format(amzDateFormat))
			}},
		{name: "changed method", method: "GET", path: "/v1/itineraries/lookup", status: 401,
			alter: func(r *http.Request) { r.Method = "POST" }},
		{name: "six minutes old", method: "GET", path: "/v1/reservations/H1/C100", at: -6 * time.Minute, status: 401},
		{name: "six minutes ahead", method: "GET", path: "/v1/reservations/H1/C100", at: 6 * time.Minute, status: 401},
		{name: "unknown key", method: "GET", path: "/v1/reservations/H1/C100", status: 401,
			signer: Partner{AccessKeyID: "AKIDNOPE", SecretAccessKey: "x"}},
		{name: "wrong secret", method: "GET", path: "/v1/reservations/H1/C100", status: 401,
			signer: Partner{AccessKeyID: partnerH1.AccessKeyID, SecretAccessKey: "guess"}},
		{name: "another partner's hotel", method: "GET", path: "/v1/reservations/H1/C100", status: 404, signer: partnerH2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newReq(t, tt.method, tt.path, tt.body)
			p := tt.signer
			if p.AccessKeyID == "" {
				p = partnerH1
			}
			signAt(t, req, tt.body, p, time.Now().Add(tt.at))
			if tt.alter != nil {
				tt.alter(req)
			}
			r := do(t, req)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if r.status >= 400 {
				checkProblem(t, r)
			}
		})
	}

	t.Run("a refused signature does not block the real request", func(t *testing.T) {
		body := []byte(`{"confirmation":"C101","surname":"DOE"}`)
		req := newReq(t, "POST", "/v1/itineraries/lookup", body)
		signAt(t, req, body, partnerH1, time.Now())
		forged := newReq(t, "POST", "/v1/itineraries/lookup", []byte(`{"confirmation":"C100","surname":"Zed"}`))
		forged.Header.Set("Authorization", req.Header.Get("Authorization"))
		forged.Header.Set("X-Amz-Date", req.Header.Get("X-Amz-Date"))
		if r := do(t, forged); r.status != 401 {
			t.Fatalf("forged: status %d", r.status)
		}
		if r := do(t, req); r.status != 200 {
			t.Fatalf("genuine after forged: status %d: %s", r.status, r.body)
		}
	})
}

func TestReplayCache(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	c := newReplayCache(2)
	steps := []struct {
		sig, addr string
		expires   time.Time
		now       time.Time
		want      error
	}{
		{"a", "x", now.Add(time.Minute), now, nil},
		{"a", "x", now.Add(time.Minute), now.Add(time.Second), nil}, // the same client's retry
		{"a", "y", now.Add(time.Minute), now.Add(time.Second), ErrReplay},
		{"a", "x", now.Add(time.Minute), now.Add(2 * time.Second), nil}, // still the first sender's
		{"b", "x", now.Add(2 * time.Minute), now, nil},
		{"c", "x", now.Add(2 * time.Minute), now, ErrReplayCacheFull},
		{"c", "x", now.Add(3 * time.Minute), now.Add(61 * time.Second), nil}, // a expired
		{"a", "y", now.Add(4 * time.Minute), now.Add(62 * time.Second), ErrReplayCacheFull},
		{"a", "y", now.Add(5 * time.Minute), now.Add(121 * time.Second), nil}, // b expired
	}
	for i, s := range steps {
		if err := c.add(s.sig, s.addr, s.expires, s.now); err != s.want {
			t.Fatalf("step %d (%s): %v, want %v", i, s.sig, err, s.want)
		}
	}
}

// TestReplayPolicy: a signed request sent again from the address that
// first sent it (the partner's own retry, identical within the same
// second) is served and never counts as a failed attempt; the same
// request from another address (a captured request replayed by someone
// else) is refused with 401 and counts against that address only.
func TestReplayPolicy(t *testing.T) {
	t.Parallel()
	store := newStore(t, "postgres", fixture(t))
	for _, tc := range []struct {
		method, path string
		body         []byte
	}{
		{"GET", "/v1/reservations/H1/C102", nil},
		{"POST", "/v1/itineraries/lookup", []byte(`{"confirmation":"C101","surname":"Doe","hotel_code":"H1"}`)},
	} {
		t.Run(tc.method, func(t *testing.T) {
			ts, logs := newTestServer(t, store, func(o *Options) { o.FailedAuthLimit = 3 })
			h := ts.Config.Handler
			signed := httptest.NewRequest(tc.method, ts.URL+tc.path, nil)
			signAt(t, signed, tc.body, partnerH1, time.Now())
			send := func(ip string) response {
				req := httptest.NewRequest(tc.method, ts.URL+tc.path, bytes.NewReader(tc.body))
				req.Header = signed.Header.Clone()
				req.RemoteAddr = ip + ":5555"
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
			}
			// The partner sends, then retries (say its connection dropped)
			// more often than the failed-attempt limit.
			for i := range 6 {
				if r := send("10.7.0.1"); r.status != 200 {
					t.Fatalf("send %d from the partner's address: status %d, want 200: %s", i+1, r.status, r.body)
				}
			}
			// Someone else replays the captured request.
			for i := range 3 {
				r := send("10.7.0.2")
				if r.status != 401 {
					t.Fatalf("replay %d from another address: status %d, want 401", i+1, r.status)
				}
				checkProblem(t, r)
			}
			checkTooMany(t, send("10.7.0.2")) // the replayer used up its attempts
			if r := send("10.7.0.1"); r.status != 200 {
				t.Fatalf("the partner after the replays: status %d, want 200", r.status)
			}
			if !strings.Contains(logs.String(), `auth_error="replayed request"`) {
				t.Errorf("the replay is not in the access log")
			}
		})
	}
}
