package api

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/dynamo"
)

// TestLookupProblems checks the lookup's input rules and that its 404s do
// not tell an unknown confirmation from a wrong surname.
func TestLookupProblems(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ts, _ := newTestServer(t, newStore(t, kind, fixture(t)), nil)
			none := callers(t)["none"]
			lookup := func(body string) response {
				return call(t, ts, none, "POST", "/v1/itineraries/lookup", []byte(body))
			}
			wrongSurname := lookup(`{"confirmation":"C101","surname":"Zed"}`)
			unknown := lookup(`{"confirmation":"NOPE","surname":"Doe"}`)
			wrongHotel := lookup(`{"confirmation":"C101","surname":"Doe","hotel_code":"H2"}`)
			for name, r := range map[string]response{"unknown confirmation": unknown, "wrong hotel": wrongHotel} {
				if r.status != 404 || wrongSurname.status != 404 {
					t.Fatalf("%s: statuses %d and %d, want 404", name, wrongSurname.status, r.status)
				}
				if !bytes.Equal(r.body, wrongSurname.body) {
					t.Errorf("%s body %s differs from wrong surname %s", name, r.body, wrongSurname.body)
				}
				for _, h := range []string{"Content-Type", "Content-Length", "Cache-Control"} {
					if r.header.Get(h) != wrongSurname.header.Get(h) {
						t.Errorf("%s: %s %q differs from %q", name, h, r.header.Get(h), wrongSurname.header.Get(h))
					}
				}
			}
			checkProblem(t, unknown)

			tests := []struct {
				name   string
				body   string
				status int
			}{
				{"unknown field", `{"confirmation":"C101","surname":"Doe","admin":true}`, 400},
				{"wrong type", `{"confirmation":101,"surname":"Doe"}`, 400},
				{"not JSON", `confirmation=C101`, 400},
				{"two objects", `{"confirmation":"C101","surname":"Doe"}{}`, 400},
				{"trailing garbage", `{"confirmation":"C101","surname":"Doe"} x`, 400},
				{"no surname", `{"confirmation":"C101"}`, 400},
				{"blank surname", `{"confirmation":"C101","surname":"  "}`, 400},
				{"null", `null`, 400},
				{"empty", ``, 400},
				{"oversized", `{"confirmation":"C101","surname":"` + strings.Repeat("a", DefaultMaxBodyBytes) + `"}`, 413},
			}
			t.Run("not JSON media type", func(t *testing.T) {
				req, _ := http.NewRequest("POST", ts.URL+"/v1/itineraries/lookup", strings.NewReader(`{"confirmation":"C101","surname":"Doe"}`))
				req.Header.Set("Content-Type", "text/plain")
				r := do(t, req)
				if r.status != http.StatusUnsupportedMediaType {
					t.Fatalf("status %d, want 415: %s", r.status, r.body)
				}
				checkProblem(t, r)
			})
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := lookup(tt.body)
					if r.status != tt.status {
						t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
					}
					checkProblem(t, r)
				})
			}
		})
	}
}

func TestRoutingAndRequestIDs(t *testing.T) {
	t.Parallel()
	ts, logs := newTestServer(t, newStore(t, "postgres", nil), nil)
	none := callers(t)["none"]
	tests := []struct {
		name, method, path, requestID string
		status                        int
		keepID                        bool
		allow                         string
	}{
		{name: "healthz", method: "GET", path: "/healthz", status: 200},
		{name: "readyz", method: "GET", path: "/readyz", status: 200},
		{name: "unknown path", method: "GET", path: "/v2/nothing", status: 404},
		{name: "wrong method", method: "GET", path: "/v1/itineraries/lookup", status: 405, allow: "POST"},
		{name: "wrong method on a GET route", method: "DELETE", path: "/v1/reservations/H1/C1", status: 405, allow: "GET"},
		{name: "caller's request id", method: "GET", path: "/healthz", requestID: "abc-123.X_y", status: 200, keepID: true},
		{name: "unsafe request id replaced", method: "GET", path: "/healthz", requestID: "a b\"c", status: 200},
		{name: "overlong request id replaced", method: "GET", path: "/healthz", requestID: strings.Repeat("a", 65), status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, ts.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.requestID != "" {
				req.Header.Set(RequestIDHeader, tt.requestID)
			}
			none.auth(t, req, nil)
			r := do(t, req)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			id := r.header.Get(RequestIDHeader)
			if id == "" || !validRequestID(id) {
				t.Fatalf("request id %q", id)
			}
			if tt.keepID != (id == tt.requestID) {
				t.Errorf("request id %q for sent %q (keep: %v)", id, tt.requestID, tt.keepID)
			}
			if !strings.Contains(logs.String(), "request_id="+id) {
				t.Errorf("access log has no line with request_id=%s", id)
			}
			if tt.status >= 400 {
				checkProblem(t, r)
			}
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
		})
	}
}

func TestReadyzStoreDown(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	c, err := dynamo.NewClient(ctx, testenv.DynamoEndpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	missing := "no-such-table-for-readyz"
	ts, _ := newTestServer(t, NewDynamoStore(dynamo.New(c, dynamo.Options{Table: missing})), nil)
	r := call(t, ts, callers(t)["none"], "GET", "/readyz", nil)
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("readyz on a missing table: %d %s", r.status, r.body)
	}
	checkProblem(t, r)
}

// gateStore holds Get calls until released; it wraps a real store.
type gateStore struct {
	Store
	entered chan struct{}
	release chan struct{}
	calls   atomic.Int32
}

func (g *gateStore) Get(ctx context.Context, k reservation.Key) (Stored, error) {
	if g.calls.Add(1) == 1 {
		close(g.entered)
	}
	<-g.release
	return g.Store.Get(ctx, k)
}

// TestGracefulShutdown cancels Serve's context while a request is in
// flight: the request completes, new connections are refused, Serve
// returns nil.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	gate := &gateStore{Store: newStore(t, "postgres", fixture(t)), entered: make(chan struct{}), release: make(chan struct{})}
	partners, _ := NewPartners([]Partner{partnerH1})
	srv, err := New(Options{Store: gate, Partners: partners, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()

	base := "http://" + ln.Addr().String()
	type result struct {
		status int
		err    error
	}
	inflight := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("GET", base+"/v1/reservations/H1/C100", nil)
		signAt(t, req, nil, partnerH1, time.Now())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			inflight <- result{err: err}
			return
		}
		resp.Body.Close()
		inflight <- result{status: resp.StatusCode}
	}()
	select {
	case <-gate.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the store")
	}
	cancel()
	// Shutdown closes the listener first: new connections fail.
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts connections after the context ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}
	close(gate.release)
	if r := <-inflight; r.err != nil || r.status != http.StatusOK {
		t.Fatalf("in-flight request: status %d, err %v", r.status, r.err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the last request")
	}
}
