package api

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// gzipMinBytes: smaller bodies are sent as they are (gzip's header and
// the CPU would cost more than they save).
const gzipMinBytes = 512

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression) // level is valid
	return w
}}

// bufferedResponse holds a handler's response until it is complete, so
// that its ETag can be computed and it can be compressed as a whole. The
// API's bodies are bounded (pages of at most MaxPageSize), so buffering
// is cheap.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// withEncoding gives successful GET responses a strong ETag (a hash of
// the bytes sent) and answers a matching If-None-Match with 304, and
// gzips bodies for clients that accept it. The ETag of a gzipped body
// differs from the plain one's: they are different representations.
func withEncoding(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := &bufferedResponse{header: w.Header()}
		next.ServeHTTP(buf, r)
		if buf.status == 0 {
			buf.status = http.StatusOK
		}
		h := w.Header()
		h.Add("Vary", "Accept-Encoding")
		body := buf.body.Bytes()
		gz := acceptsGzip(r.Header.Get("Accept-Encoding")) && len(body) >= gzipMinBytes && h.Get("Content-Encoding") == ""
		if gz {
			body = gzipBytes(body)
			h.Set("Content-Encoding", "gzip")
		}
		if r.Method == http.MethodGet && buf.status == http.StatusOK {
			sum := sha256.Sum256(body)
			etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
			h.Set("ETag", etag)
			if etagMatches(r.Header.Get("If-None-Match"), etag) {
				h.Del("Content-Type")
				h.Del("Content-Encoding")
				h.Del("Content-Length")
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(buf.status)
		_, _ = w.Write(body)
	})
}

func gzipBytes(p []byte) []byte {
	var out bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&out)
	_, _ = zw.Write(p) // writes to a bytes.Buffer do not fail
	_ = zw.Close()
	gzipWriters.Put(zw)
	return out.Bytes()
}

// acceptsGzip reports whether an Accept-Encoding value accepts gzip (or
// any coding, "*") with a non-zero quality.
func acceptsGzip(v string) bool {
	for part := range strings.SplitSeq(v, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(val, 64); err == nil {
					q = f
				}
			}
		}
		if q > 0 {
			return true
		}
	}
	return false
}

// etagMatches is If-None-Match's weak comparison (RFC 9110 13.1.2).
func etagMatches(inm, etag string) bool {
	if strings.TrimSpace(inm) == "*" {
		return true
	}
	for t := range strings.SplitSeq(inm, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == etag {
			return true
		}
	}
	return false
}
