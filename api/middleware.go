package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"
)

// RequestIDHeader carries the request id on every response.
const RequestIDHeader = "X-Request-Id"

type ctxKey int

const (
	requestIDKey ctxKey = iota
	logInfoKey
)

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// validRequestID accepts a caller's id only when it is short and plain, so
// that it can go into logs as is.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

// withRequestID keeps the caller's X-Request-Id (when plain) or makes one,
// and puts it on the response and in the context.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// logInfo is what handlers add to the access log line: never personal
// data, so a guest is logged by kind only.
type logInfo struct {
	caller  string // "guest", "partner", "anonymous"
	partner string // the partner's access key id
	reason  string // why authentication failed
	limited string // which rate limit refused the request
}

func logInfoFrom(ctx context.Context) *logInfo {
	li, _ := ctx.Value(logInfoKey).(*logInfo)
	if li == nil {
		return &logInfo{} // detached: writes go nowhere
	}
	return li
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// withAccessLog logs one line per request (the route pattern, not the
// path: paths carry confirmation numbers and queries carry dates of a
// guest's stays) and turns a panic into a 500.
func (s *Server) withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		li := &logInfo{caller: "anonymous"}
		r = r.WithContext(context.WithValue(r.Context(), logInfoKey, li))
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "handler panic", "request_id", requestIDFrom(r.Context()), "panic", redact(fmt.Sprint(p)))
				if rec.status == 0 {
					writeProblem(rec, http.StatusInternalServerError, ProblemInternal, "internal error")
				}
			}
			if rec.status == 0 {
				rec.status = http.StatusOK // the handler wrote nothing
			}
			s.metrics.observe(r.Pattern, rec.status, time.Since(start))
			attrs := []any{
				"request_id", requestIDFrom(r.Context()),
				"method", logMethod(r.Method),
				"route", r.Pattern,
				"status", rec.status,
				"bytes", rec.bytes,
				"duration", time.Since(start).Round(time.Microsecond),
				"caller", li.caller,
			}
			if li.partner != "" {
				attrs = append(attrs, "partner", li.partner)
			}
			if li.limited != "" {
				attrs = append(attrs, "rate_limited", li.limited)
			}
			if li.reason != "" {
				attrs = append(attrs, "auth_error", li.reason)
			}
			s.log.InfoContext(r.Context(), "request", attrs...)
		}()
		next.ServeHTTP(rec, r)
	})
}

// logMethod is the request method as the access log shows it: a
// standard method as is, anything else (the caller's bytes) as "other".
func logMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}
