package api

import (
	"encoding/json"
	"net/http"
)

// Problem is an RFC 9457 problem document, the body of every error
// response (Content-Type application/problem+json). It carries no request
// id (that is the X-Request-Id header), so equal errors have equal bodies.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// Problem types; relative URIs under /problems/.
const (
	ProblemBadRequest   = "/problems/bad-request"
	ProblemUnauthorized = "/problems/unauthorized"
	ProblemForbidden    = "/problems/forbidden"
	ProblemNotFound     = "/problems/not-found"
	ProblemTooLarge     = "/problems/body-too-large"
	ProblemMediaType    = "/problems/unsupported-media-type"
	ProblemUnavailable  = "/problems/unavailable"
	ProblemInternal     = "/problems/internal"
	ProblemMethod       = "/problems/method-not-allowed"
)

// notFoundDetail is the one detail of every 404 about a reservation, so
// that "does not exist" and "not yours" read the same.
const notFoundDetail = "no such reservation"

// writeProblem writes a problem document. detail must never carry personal
// data: it is shown to the caller and may be logged by proxies.
func writeProblem(w http.ResponseWriter, status int, typ, detail string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="resingest", AWS4-HMAC-SHA256`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Problem{
		Type: typ, Title: http.StatusText(status), Status: status, Detail: detail,
	})
}

// writeJSON writes v as the response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
