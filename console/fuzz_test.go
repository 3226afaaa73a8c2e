package console_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/resingest/resingest/console"
)

// lockedBuffer is a log sink for concurrent handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// FuzzPages sends random methods, paths, queries, bodies and credentials
// through the whole console over real stores: no answer may be a 500, a
// panic (which the handler would turn into a 503 and log), a response
// without nosniff, or a log line that repeats more than 16 bytes of the
// caller's input. Its seeds run in make test; fuzz with
// go test -fuzz FuzzPages ./console/.
func FuzzPages(f *testing.F) {
	fx := newFixture(f)
	var logs lockedBuffer
	srv, err := console.New(console.Options{
		Postgres: fx.pg, Dynamo: fx.dyn, Archive: fx.arch, Parser: mustParser(f),
		Verifiers: []console.Verifier{fx.tokens}, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		f.Fatal(err)
	}
	tok := fx.token(f, console.RoleOps)
	for _, seed := range []struct {
		method, path, body string
		signed             bool
	}{
		{"GET", "/", "", true},
		{"GET", "/search?confirmation=%00", "", true},
		{"GET", "/search?email=%FF%FE", "", true},
		{"GET", "/search?hotel=a&hotel=b&confirmation=c", "", true},
		{"GET", "/reservations/%2e%2e/x", "", true},
		{"GET", "/reservations/H00001/" + strings.Repeat("9", 300), "", true},
		{"GET", "/messages?key=../../etc/passwd&confirmation=1", "", true},
		{"GET", "/messages?key=dt%3D2026-01-01%2Fx&version=%E2%80%AE", "", true},
		{"GET", "/dead-letters?since=2026-13-45&until=x", "", true},
		{"GET", "/dead-letters?before=99999999999999999999", "", true},
		{"GET", "/dead-letters/0", "", true},
		{"GET", "/dead-letters/9223372036854775807", "", true},
		{"POST", "/dead-letters/replay", "csrf=x&id=1", true},
		{"POST", "/dead-letters/replay", "%%%", true},
		{"GET", "/health?window=1h&window=7d", "", true},
		{"GET", "/hotels?sort=last&window=7d", "", true},
		{"POST", "/signin", "token=" + strings.Repeat("a", 20000), false},
		{"POST", "/signin", "token=eyJhbGciOiJub25lIn0.e30.", false},
		{"GET", "/reservations/H/C", "", false},
		{"DELETE", "/health", "", true},
	} {
		f.Add(seed.method, seed.path, seed.body, seed.signed)
	}
	f.Fuzz(func(t *testing.T, method, path, body string, signed bool) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		u, err := url.ParseRequestURI(path)
		if err != nil || method == "" || strings.ContainsAny(method, " \t\r\n/()<>@,;:\\\"[]?={}") {
			return // not a request a client can send
		}
		req := httptest.NewRequest("GET", "http://console.test/", strings.NewReader(body))
		req.Method, req.URL, req.RequestURI = method, u, path
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if signed {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		before := len(logs.String())
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code == http.StatusInternalServerError {
			t.Fatalf("%s %s: 500", method, path)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: no nosniff", method, path)
		}
		logged := logs.String()[before:]
		if strings.Contains(logged, "handler panic") {
			t.Fatalf("%s %s: panic: %s", method, path, logged)
		}
		for _, v := range []string{body, u.RawQuery, u.Path} {
			if len(v) > 16 && strings.Contains(logged, v[:17]) {
				t.Errorf("%s %s: the log repeats the caller's input:\n%s", method, path, logged)
			}
		}
	})
}
