package api

import (
	"html"
	"net/http"
	"strings"
	"testing"
)

// TestDocsPage fetches /docs and finds every route, with its summary,
// parameters and responses.
func TestDocsPage(t *testing.T) {
	t.Parallel()
	srv, err := New(Options{Store: &gateStore{}, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", httptestServer(t, srv)+"/docs", nil)
	r := do(t, req)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs: %d %q", r.status, r.header.Get("Content-Type"))
	}
	page := html.UnescapeString(string(r.body))
	for _, rt := range srv.routeTable() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		t.Run(rt.pattern, func(t *testing.T) {
			want := `<code class="method">` + method + `</code> <code class="path">` + path + `</code>`
			if !strings.Contains(page, want) {
				t.Errorf("/docs does not list %s", rt.pattern)
			}
		})
	}
	for _, want := range []string{
		"A hotel's arrivals on a date", // a summary
		"<code>cursor</code>",          // a parameter
		"<td>429</td>",                 // a response
		"application/json LookupRequest",
		"bearerJWT or sigv4",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("/docs lacks %q", want)
		}
	}
	if strings.Contains(page, "<script") {
		t.Error("/docs has a script")
	}
}
