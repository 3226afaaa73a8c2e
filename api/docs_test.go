package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDocsPage fetches /docs: a shell whose one inline script is allowed
// by its Content-Security-Policy hash (else a browser would not run it).
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
	page := string(r.body)
	_, rest, ok := strings.Cut(page, "<script>")
	script, _, ok2 := strings.Cut(rest, "</script>")
	if !ok || !ok2 || strings.Count(page, "<script") != 1 {
		t.Fatalf("/docs does not have exactly one inline script:\n%s", page)
	}
	sum := sha256.Sum256([]byte(script))
	csp := r.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
		t.Errorf("CSP %q does not allow the page's script", csp)
	}
	for _, want := range []string{"default-src 'none'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for _, banned := range []string{"innerHTML", "http://", "https://", "eval("} {
		if strings.Contains(script, banned) {
			t.Errorf("the docs script uses %q", banned)
		}
	}
}

// TestDocsInBrowser opens /docs in Debian's headless Chromium, which runs
// the page's script, and finds every endpoint of openapi.json in the
// rendered DOM with its summary, parameters and responses. Chromium is a
// test dependency (apt-get install chromium): without it the test fails.
func TestDocsInBrowser(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the browser test needs Debian's chromium on PATH (apt-get install -y chromium): %v", err)
	}
	srv, err := New(Options{Store: &gateStore{}, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	url := httptestServer(t, srv) + "/docs"
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// --virtual-time-budget lets the page's fetch and rendering finish
	// before the DOM is dumped.
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom", url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	dom := html.UnescapeString(stdout.String())
	if !strings.Contains(dom, `data-state="ready"`) {
		t.Fatalf("the page did not render (not ready):\n%s\nchromium stderr:\n%s", dom, stderr.String())
	}
	for _, rt := range srv.routeTable() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		t.Run(rt.pattern, func(t *testing.T) {
			want := `<code class="method">` + method + `</code> <code class="path">` + path + `</code>`
			if !strings.Contains(dom, want) {
				t.Errorf("the rendered /docs does not list %s", rt.pattern)
			}
		})
	}
	for _, want := range []string{
		"<title>resingest itinerary API</title>",
		"A hotel's arrivals on a date",     // a summary
		"<code>cursor</code>",              // a parameter
		"<td>429</td>",                     // a response
		"A rate limit refused the request", // a shared response's description
		"application/json LookupRequest",
		"bearerJWT or sigv4",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered /docs lacks %q", want)
		}
	}
}
