package api

import "net/http"

// apiCSP is the Content-Security-Policy of every response but /docs: the
// API serves data, never a page, so nothing may load or frame it.
const apiCSP = "default-src 'none'; frame-ancestors 'none'"

// withSecurityHeaders sets the headers every response carries:
// nosniff (a JSON body is never taken for a script or a page), no-store
// (responses carry personal data; /openapi.json and /docs, which do not,
// set their own caching), a CSP that lets nothing load or frame the API
// (/docs sets its own, which lets its one script run), no framing and no
// referrer.
func withSecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", apiCSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}
