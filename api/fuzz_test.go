package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fuzzServer is one API server of the fuzz test over one store kind.
type fuzzServer struct {
	kind string
	h    http.Handler
	logs *logBuffer
}

// Authorization kinds the fuzz input picks from (auth % fuzzAuthKinds).
const (
	fuzzNone = iota
	fuzzGuest
	fuzzPartner      // signed by partner H1 over the request as sent
	fuzzPartnerOther // signed by partner H2
	fuzzBearerValue  // "Bearer " + the fuzzed header value
	fuzzSigV4Value   // "AWS4-HMAC-SHA256 " + the fuzzed header value
	fuzzExpired
	fuzzAuthKinds
)

// FuzzHandler sends random requests (methods, percent-encoded paths,
// queries, a header, bodies, credentials) through the whole handler over
// every store kind, and asserts: no 5xx other than 503, no panic (the
// recovery middleware turns one into a 500, which fails), and no
// caller-supplied bytes in the logs beyond the sanitised prefix
// (logPrefixBytes). Requests Go's HTTP server would refuse before the
// handler (unparseable request lines, bad header names) are skipped.
func FuzzHandler(f *testing.F) {
	seeds := []struct {
		method, path string
		auth         uint8
		hname, hval  string
		body         string
	}{
		{"GET", "/v1/reservations/H1/C100", fuzzPartner, "Accept-Encoding", "gzip", ""},
		{"GET", "/v1/reservations/H1/C100", fuzzGuest, "If-None-Match", `"abc"`, ""},
		{"GET", "/v1/hotels/H1/arrivals?date=2024-06-01&limit=2", fuzzPartner, "X-Request-Id", "seed-1", ""},
		{"GET", "/v1/hotels/H1/arrivals?date=2024-06-01&cursor=eyJoIjoiSDEifQ", fuzzPartner, "X-Amz-Date", "20240101T000000Z", ""},
		{"GET", "/v1/guests/me/itineraries?from=2024-06-01&to=2024-06-30", fuzzGuest, "Accept", "*/*", ""},
		{"POST", "/v1/itineraries/lookup", fuzzNone, "Content-Type", "application/json", `{"confirmation":"C101","surname":"Doe"}`},
		{"POST", "/v1/itineraries/lookup", fuzzPartnerOther, "Content-Type", "application/json", `{"confirmation":"C101","surname":"Doe","hotel_code":"H1"}`},
		{"POST", "/v1/itineraries/lookup", fuzzNone, "Content-Type", "application/json; charset=utf-8", `{"confirmation":"C1\u0000","surname":"\ud800"}`},
		{"POST", "/v1/itineraries/lookup", fuzzBearerValue, "X-Forwarded-For", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbm5AZXhhbXBsZS5jb20ifQ.", `{"confirmation":"C100","surname":"Zed"}`},
		{"GET", "/v1/reservations/H1/C100", fuzzSigV4Value, "X-Amz-Date", "Credential=AKIDH1/20240101/us-east-1/resingest/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0", 64), ""},
		{"GET", "/v1/reservations/%C3%28/%FF%FE%FD", fuzzPartner, "", "", ""},
		{"GET", "/v1/reservations/H1/C%00%0A%ED%A0%80", fuzzExpired, "", "", ""},
		{"DELETE", "/v1/reservations/H1/C100", fuzzPartner, "", "", ""},
		{"PROPFIND", "/v1/hotels/" + strings.Repeat("H", 3000) + "/arrivals?date=2024-06-01", fuzzPartner, "", "", ""},
		{"GET", "/docs", fuzzNone, "", "", ""},
		{"GET", "/metrics", fuzzNone, "", "", ""},
		{"GET", "/v1/../../etc/passwd", fuzzNone, "", "", ""},
	}
	for _, tc := range hostileCases() {
		auth := uint8(fuzzNone)
		switch tc.caller {
		case "partner H1":
			auth = fuzzPartner
		case "partner H2":
			auth = fuzzPartnerOther
		case "ann":
			auth = fuzzGuest
		}
		seeds = append(seeds, struct {
			method, path string
			auth         uint8
			hname, hval  string
			body         string
		}{tc.method, tc.path, auth, "Content-Type", "application/json", tc.body})
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.auth, s.hname, s.hval, []byte(s.body))
	}

	var servers []fuzzServer
	for _, kind := range storeKinds {
		ts, logs := newTestServer(f, newStore(f, kind, fixture(f)), nil)
		servers = append(servers, fuzzServer{kind: kind, h: ts.Config.Handler, logs: logs})
	}
	guestTok := guestToken(f, ann.email, time.Now(), 24*time.Hour, testSecret)
	expiredTok := guestToken(f, ann.email, time.Now().Add(-2*time.Hour), time.Hour, testSecret)

	f.Fuzz(func(t *testing.T, method, target string, auth uint8, hname, hval string, body []byte) {
		var raw bytes.Buffer
		fmt.Fprintf(&raw, "%s %s HTTP/1.1\r\nHost: api.test\r\n", method, target)
		if hname != "" {
			fmt.Fprintf(&raw, "%s: %s\r\n", hname, hval)
		}
		fmt.Fprintf(&raw, "Content-Length: %d\r\n\r\n", len(body))
		raw.Write(body)
		parsed, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw.Bytes())))
		if err != nil {
			return // Go's server answers 400 before any handler
		}
		if !validHeaderFields(parsed.Header) {
			return // the server refuses these too
		}
		sum := fnv.New32a()
		sum.Write(raw.Bytes())
		remote := fmt.Sprintf("10.%d.%d.%d:4321", sum.Sum32()>>16&0xff, sum.Sum32()>>8&0xff, sum.Sum32()&0xff)

		for _, srv := range servers {
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw.Bytes())))
			if err != nil {
				t.Fatal(err)
			}
			req.RemoteAddr = remote
			switch auth % fuzzAuthKinds {
			case fuzzGuest:
				req.Header.Set("Authorization", "Bearer "+guestTok)
			case fuzzExpired:
				req.Header.Set("Authorization", "Bearer "+expiredTok)
			case fuzzPartner, fuzzPartnerOther:
				p := partnerH1
				if auth%fuzzAuthKinds == fuzzPartnerOther {
					p = partnerH2
				}
				signed := req.Clone(req.Context())
				signed.URL = &url.URL{Scheme: "http", Host: req.Host, Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
				signAt(t, signed, body, p, time.Now())
				req.Header = signed.Header
			case fuzzBearerValue:
				req.Header.Set("Authorization", "Bearer "+hval)
			case fuzzSigV4Value:
				req.Header.Set("Authorization", sigV4Algo+" "+hval)
			}
			srv.logs.Reset()
			rec := httptest.NewRecorder()
			srv.h.ServeHTTP(rec, req)
			if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("%s: %s %q: status %d: %s\nlogs:\n%s", srv.kind, method, target, rec.Code, rec.Body, srv.logs)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("%s: %s %q: no nosniff", srv.kind, method, target)
			}
			checkNoCallerBytes(t, srv.kind, srv.logs.String(), callerValues(parsed, hname, hval, body))
		}
	})
}

// validHeaderFields reports whether every header value is one Go's
// server would pass on (ReadRequest is laxer than the server about
// control characters in values).
func validHeaderFields(h http.Header) bool {
	for _, vs := range h {
		for _, v := range vs {
			for i := 0; i < len(v); i++ {
				if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
					return false
				}
			}
		}
	}
	return true
}

// callerValues are the values a request carries that the logs may show
// only a prefix of: path segments (decoded), query values, the fuzzed
// header's value, the body and its JSON strings. The caller's own
// X-Request-Id, which is logged as is when short and plain (it is the
// caller's correlation id), is left out.
func callerValues(r *http.Request, hname, hval string, body []byte) []string {
	var vs []string
	vs = append(vs, strings.Split(r.URL.Path, "/")...)
	for k, qv := range r.URL.Query() {
		vs = append(vs, k)
		vs = append(vs, qv...)
	}
	if http.CanonicalHeaderKey(hname) != RequestIDHeader {
		vs = append(vs, hval)
	}
	vs = append(vs, string(body))
	var doc map[string]any
	if json.Unmarshal(body, &doc) == nil {
		for k, v := range doc {
			vs = append(vs, k)
			if s, ok := v.(string); ok {
				vs = append(vs, s)
			}
		}
	}
	return vs
}

// fuzzLogVocabulary is what the logs say of their own: a run of a
// caller's value that is also here is not evidence of a leak.
var fuzzLogVocabulary = strings.Join([]string{
	"GET /healthz GET /readyz GET /openapi.json GET /docs",
	"GET /v1/reservations/{hotel_code}/{confirmation}", "GET /v1/hotels/{hotel_code}/arrivals",
	"GET /v1/guests/me/itineraries", "POST /v1/itineraries/lookup",
	"level=INFO msg=request request_id= method= route= status= bytes= duration= caller=anonymous caller=guest caller=partner partner=AKIDH1 partner=AKIDH2",
	"rate_limited= auth_error=", `auth_error="invalid token" auth_error="malformed token" auth_error="token expired"`,
	`auth_error="invalid signature" auth_error="replayed request" auth_error="unknown token key"`,
	`auth_error="unsupported Authorization scheme" auth_error="guest tokens are not configured"`,
	"level=WARN msg=\"store refused a key\"",
}, " ")

// checkNoCallerBytes fails when logs hold more than logPrefixBytes
// consecutive bytes of any of values (runs the logs themselves use
// excepted).
func checkNoCallerBytes(t testing.TB, kind, logs string, values []string) {
	t.Helper()
	const w = logPrefixBytes + 1
	if len(logs) < w {
		return
	}
	windows := make(map[string]bool, len(logs))
	for i := 0; i+w <= len(logs); i++ {
		windows[logs[i:i+w]] = true
	}
	for _, v := range values {
		for i := 0; i+w <= len(v); i++ {
			if win := v[i : i+w]; windows[win] && !strings.Contains(fuzzLogVocabulary, win) {
				t.Fatalf("%s: the logs carry %q of a caller's value (%d bytes):\n%s", kind, win, len(v), logs)
				return
			}
		}
	}
}

// TestFuzzLogCheck: the fuzz test's log check catches a run of a caller's
// value, and lets a prefix and the logs' own words pass.
func TestFuzzLogCheck(t *testing.T) {
	t.Parallel()
	value := "C100-" + strings.Repeat("Z", 40)
	for _, tc := range []struct {
		logs string
		leak bool
	}{
		{`level=ERROR msg="store read failed" err="get H1/` + value + `: boom"`, true},
		{`level=ERROR msg="store read failed" err="get H1/` + logValue(value) + `: boom"`, false},
		{`level=INFO msg=request route="GET /v1/reservations/{hotel_code}/{confirmation}"`, false},
	} {
		rt := &recordingTB{TB: t}
		checkNoCallerBytes(rt, "test", tc.logs, []string{value, "/v1/reservations/{hotel_code}/{confirmation}"})
		if rt.failed != tc.leak {
			t.Errorf("logs %q: failed %v, want %v", tc.logs, rt.failed, tc.leak)
		}
	}
}
