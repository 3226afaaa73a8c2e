package dynamo

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/resingest/resingest/sinks"
)

// faultClient answers the first `faults` PutItem requests itself with an
// error response, as DynamoDB would under load, and passes everything else
// to the real HTTP client. It is how tests cause faults dynalite never
// produces.
type faultClient struct {
	next   dynamodb.HTTPClient
	faults int64
	status int
	body   string
	served atomic.Int64 // faults answered
	gets   atomic.Int64 // GetItem requests seen
}

func (f *faultClient) Do(req *http.Request) (*http.Response, error) {
	if req.Header.Get("X-Amz-Target") == "DynamoDB_20120810.GetItem" {
		f.gets.Add(1)
	}
	if req.Header.Get("X-Amz-Target") == "DynamoDB_20120810.PutItem" && f.served.Add(1) <= f.faults {
		if req.Body != nil {
			_, _ = io.Copy(io.Discard, req.Body)
			_ = req.Body.Close()
		}
		return &http.Response{
			StatusCode: f.status,
			Status:     http.StatusText(f.status),
			Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:  http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
			Body:    io.NopCloser(strings.NewReader(f.body)),
			Request: req,
		}, nil
	}
	return f.next.Do(req)
}

// faultySink is a sink on a fresh table whose client goes through f.
func faultySink(t *testing.T, f *faultClient, opts Options) *Sink {
	t.Helper()
	base, _ := newTestSink(t, Options{}) // creates the table
	o := testClient(t).Options()
	f.next = o.HTTPClient
	o.HTTPClient = f
	opts.Table = base.Table()
	opts.Backoff = sinks.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}
	s := New(dynamodb.New(o), opts)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

const dynamoErrorPrefix = `{"__type":"com.amazonaws.dynamodb.v20120810#`

func TestRetryTransientErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"provisioned throughput exceeded", 400, dynamoErrorPrefix + `ProvisionedThroughputExceededException","message":"slow down"}`},
		{"throttling", 400, dynamoErrorPrefix + `ThrottlingException","message":"slow down"}`},
		{"request limit", 400, dynamoErrorPrefix + `RequestLimitExceeded","message":"slow down"}`},
		{"internal server error", 500, dynamoErrorPrefix + `InternalServerError","message":"oops"}`},
		{"unavailable", 503, `{"message":"unavailable"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const faults = 3
			f := &faultClient{faults: faults, status: tt.status, body: tt.body}
			s := faultySink(t, f, Options{})

			want := rec(t, "H700", "RETRY", 1, "")
			res := write(t, s, want)
			if res[0].Outcome != sinks.Stored {
				t.Fatalf("outcome = %v (%v), want stored after retries", res[0].Outcome, res[0].Err)
			}
			if st := s.Stats(); st.Retries != faults || st.Attempts != faults+1 {
				t.Errorf("stats = %+v, want %d retries and %d attempts", st, faults, faults+1)
			}
			if _, v, err := s.Get(testContext(t), want.Reservation.Key()); err != nil || v != want.Version.String() {
				t.Errorf("stored version %q err %v, want %q", v, err, want.Version.String())
			}
		})
	}
}

func TestRetryGivesUp(t *testing.T) {
	t.Parallel()
	throttled := dynamoErrorPrefix + `ProvisionedThroughputExceededException","message":"slow down"}`

	t.Run("when the context ends", func(t *testing.T) {
		t.Parallel()
		s := faultySink(t, &faultClient{faults: 1 << 40, status: 400, body: throttled}, Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		res, err := s.Write(ctx, []sinks.Record{rec(t, "H700", "FOREVER", 1, "")})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Write err = %v, want deadline exceeded", err)
		}
		if res[0].Outcome != sinks.Failed || !sinks.IsRetryable(res[0].Err) {
			t.Errorf("result = %+v, want a retryable failure", res[0])
		}
		if s.Stats().Retries == 0 {
			t.Error("no retries before the deadline")
		}
	})

	t.Run("after MaxAttempts", func(t *testing.T) {
		t.Parallel()
		s := faultySink(t, &faultClient{faults: 1 << 40, status: 400, body: throttled}, Options{MaxAttempts: 4})
		res := write(t, s, rec(t, "H700", "LIMITED", 1, ""))
		if res[0].Outcome != sinks.Failed || !sinks.IsRetryable(res[0].Err) {
			t.Errorf("result = %+v, want a retryable failure", res[0])
		}
		if st := s.Stats(); st.Attempts != 4 {
			t.Errorf("attempts = %d, want 4", st.Attempts)
		}
	})

	t.Run("validation errors are not retried", func(t *testing.T) {
		t.Parallel()
		f := &faultClient{faults: 1 << 40, status: 400, body: `{"__type":"com.amazon.coral.validate#ValidationException","message":"bad"}`}
		s := faultySink(t, f, Options{})
		res := write(t, s, rec(t, "H700", "INVALID", 1, ""))
		if res[0].Outcome != sinks.Failed || sinks.IsRetryable(res[0].Err) {
			t.Errorf("result = %+v, want a permanent failure", res[0])
		}
		if st := s.Stats(); st.Attempts != 1 {
			t.Errorf("attempts = %d, want 1", st.Attempts)
		}
	})
}

// TestConditionCheckReturnsOldItem covers DynamoDB's answer with
// ReturnValuesOnConditionCheckFailure=ALL_OLD, which dynalite does not
// give: the refused write is classified from the returned item, without
// reading it again.
func TestConditionCheckReturnsOldItem(t *testing.T) {
	t.Parallel()
	r := rec(t, "H800", "OLD", 5, "")
	tests := []struct {
		name   string
		stored string
		want   sinks.Outcome
	}{
		{"newer stored", rec(t, "H800", "OLD", 6, "").Version.String(), sinks.Stale},
		{"same stored", r.Version.String(), sinks.Duplicate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := dynamoErrorPrefix + `ConditionalCheckFailedException","message":"The conditional request failed",` +
				`"Item":{"pk":{"S":"HOTEL#H800"},"sk":{"S":"RES#OLD"},"version":{"S":"` + tt.stored + `"}}}`
			f := &faultClient{faults: 1, status: 400, body: body}
			s := faultySink(t, f, Options{})
			res := write(t, s, r)
			if res[0].Outcome != tt.want {
				t.Errorf("outcome = %v (%v), want %v", res[0].Outcome, res[0].Err, tt.want)
			}
			if n := f.gets.Load(); n != 0 {
				t.Errorf("%d GetItem requests, want none", n)
			}
		})
	}
}
