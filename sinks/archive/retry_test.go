package archive

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/resingest/resingest/sinks"
)

// faultTransport answers the first `faults` PutObject requests itself with
// an S3 error response and passes everything else to the real transport.
// It is how tests cause faults the local server never produces. It also
// records the peak number of PutObject requests in flight.
type faultTransport struct {
	next   http.RoundTripper
	faults int64
	status int
	code   string
	delay  time.Duration // added to every PutObject, to make overlap visible

	served   atomic.Int64 // faults answered
	puts     atomic.Int64 // PutObject requests seen
	mu       sync.Mutex
	inFlight int
	peak     int
	header   http.Header // of the last PutObject
}

// isPutObject recognises PutObject by the operation id the SDK puts in the
// query string.
func isPutObject(req *http.Request) bool {
	return req.Method == http.MethodPut && req.URL.Query().Get("x-id") == "PutObject"
}

func (f *faultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !isPutObject(req) {
		return f.next.RoundTrip(req)
	}
	f.puts.Add(1)
	f.mu.Lock()
	f.inFlight++
	f.peak = max(f.peak, f.inFlight)
	f.header = req.Header.Clone()
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	time.Sleep(f.delay)
	if f.served.Add(1) > f.faults {
		return f.next.RoundTrip(req)
	}
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>%s</Code><Message>injected by the test</Message><RequestId>TEST</RequestId><HostId>TEST</HostId></Error>`, f.code)
	return &http.Response{
		StatusCode: f.status,
		Status:     fmt.Sprintf("%d %s", f.status, http.StatusText(f.status)),
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/xml"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}

// faultySink is a sink on a fresh bucket whose client goes through f.
func faultySink(t *testing.T, f *faultTransport, opts Options) (*Sink, *s3.Client) {
	t.Helper()
	c := testClient(t)
	f.next = http.DefaultTransport
	fc := s3.New(c.Options(), func(o *s3.Options) { o.HTTPClient = &http.Client{Transport: f} })
	return newTestSink(t, fc, opts), c
}

func TestWriteRetriesTransientErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		code   string
	}{
		{"slow down", http.StatusServiceUnavailable, "SlowDown"},
		{"internal error", http.StatusInternalServerError, "InternalError"},
		{"unknown 502", http.StatusBadGateway, "BadGateway"},
		{"request timeout", http.StatusBadRequest, "RequestTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const faults = 3
			f := &faultTransport{faults: faults, status: tt.status, code: tt.code}
			s, c := faultySink(t, f, Options{MaxAttempts: faults + 1})
			recs := records(t, "m1", "H1", "C1")
			res := mustWrite(t, s, recs)
			if res[0].Outcome != sinks.Stored {
				t.Fatalf("after %d %s faults: %s", faults, tt.code, describe(res))
			}
			if got := f.puts.Load(); got != faults+1 {
				t.Errorf("PutObject requests = %d, want %d", got, faults+1)
			}
			if st := s.Stats(); st.Retries != faults || st.Objects != 1 {
				t.Errorf("stats %+v, want %d retries and 1 object", st, faults)
			}
			if keys := listKeys(t, c, s.Bucket()); len(keys) != 1 || keys[0] != res[0].Key {
				t.Errorf("bucket holds %q, record points at %q", keys, res[0].Key)
			}
			if entries, err := s.Read(testContext(t), res[0].Key); err != nil || len(entries) != 1 {
				t.Errorf("Read after retries: %d entries, %v", len(entries), err)
			}
		})
	}
}

func TestWriteGivesUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		status        int
		code          string
		wantRetryable bool
		wantAttempts  int
	}{
		{"throttled beyond MaxAttempts", http.StatusServiceUnavailable, "SlowDown", true, 3},
		{"access denied is permanent", http.StatusForbidden, "AccessDenied", false, 1},
		{"unknown 4xx is permanent", http.StatusBadRequest, "InvalidArgument", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &faultTransport{faults: 1000, status: tt.status, code: tt.code}
			s, c := faultySink(t, f, Options{MaxAttempts: 3})
			recs := append(records(t, "m1", "H1", "C1", "C2"), records(t, "m2", "H2", "C3")...)
			res := mustWrite(t, s, recs)
			for i, r := range res {
				var perr *PutError
				switch {
				case r.Outcome != sinks.Failed:
					t.Fatalf("record %d: %s", i, describe(res))
				case sinks.IsRetryable(r.Err) != tt.wantRetryable:
					t.Errorf("record %d: retryable = %v, want %v (%v)", i, sinks.IsRetryable(r.Err), tt.wantRetryable, r.Err)
				case !errors.As(r.Err, &perr) || perr.Attempts != tt.wantAttempts:
					t.Errorf("record %d: error %v, want a *PutError after %d attempts", i, r.Err, tt.wantAttempts)
				case r.Key != "":
					t.Errorf("record %d: key %q on failure", i, r.Key)
				}
			}
			if got, want := f.puts.Load(), int64(2*tt.wantAttempts); got != want {
				t.Errorf("PutObject requests = %d, want %d (2 objects)", got, want)
			}
			if keys := listKeys(t, c, s.Bucket()); len(keys) != 0 {
				t.Errorf("failed writes left %q", keys)
			}
		})
	}
}

func TestWriteBoundsConcurrency(t *testing.T) {
	t.Parallel()
	const limit = 3
	f := &faultTransport{delay: 20 * time.Millisecond}
	s, c := faultySink(t, f, Options{MaxInFlight: limit})
	var recs []sinks.Record
	for h := range 12 {
		recs = append(recs, records(t, fmt.Sprintf("m%d", h), fmt.Sprintf("H%02d", h), "C1")...)
	}
	res := mustWrite(t, s, recs)
	for i, r := range res {
		if r.Outcome != sinks.Stored {
			t.Fatalf("record %d: %s", i, describe(res))
		}
	}
	f.mu.Lock()
	peak := f.peak
	f.mu.Unlock()
	if peak > limit || peak < 2 {
		t.Errorf("peak PutObject requests in flight = %d, want 2..%d", peak, limit)
	}
	if keys := listKeys(t, c, s.Bucket()); len(keys) != 12 {
		t.Errorf("12 hotels made %d objects", len(keys))
	}
}

func TestWriteRequestsEncryption(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		kmsKey    string
		wantSSE   string
		wantKeyID string
	}{
		{"SSE-S3 by default", "", "AES256", ""},
		{"SSE-KMS with a key", "alias/resingest-archive", "aws:kms", "alias/resingest-archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &faultTransport{}
			s, _ := faultySink(t, f, Options{KMSKeyID: tt.kmsKey})
			if res := mustWrite(t, s, records(t, "m1", "H1", "C1")); res[0].Outcome != sinks.Stored {
				t.Fatalf("write: %s", describe(res))
			}
			f.mu.Lock()
			h := f.header
			f.mu.Unlock()
			if got := h.Get("X-Amz-Server-Side-Encryption"); got != tt.wantSSE {
				t.Errorf("x-amz-server-side-encryption = %q, want %q", got, tt.wantSSE)
			}
			if got := h.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); got != tt.wantKeyID {
				t.Errorf("x-amz-server-side-encryption-aws-kms-key-id = %q, want %q", got, tt.wantKeyID)
			}
		})
	}
}

// putRaw stores body at key as is.
func putRaw(t testing.TB, c *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	if _, err := c.PutObject(testContext(t), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
	}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// gz compresses s.
func gz(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
