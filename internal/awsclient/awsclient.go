package awsclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/resingest/resingest/internal/storeerr"
)

// localRegion is used when an endpoint is given and no region is
// configured: local servers accept any region, but the SDK needs one to
// sign requests.
const localRegion = "us-east-1"

// transportAttempts bounds the SDK's own retries. They cover connection
// errors only; throttling and 5xx answers come back to the caller, whose
// backoff paces and counts every retry.
const transportAttempts = 3

// Config loads the default AWS configuration chain (environment, shared
// config, instance role). With a non-empty endpoint (a local server) and no
// configured region it picks a region, since requests must be signed with
// one. optFns are passed to config.LoadDefaultConfig.
func Config(ctx context.Context, endpoint string, optFns ...func(*config.LoadOptions) error) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, optFns...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	if cfg.Region == "" && endpoint != "" {
		cfg.Region = localRegion
	}
	return cfg, nil
}

// TransportRetryer retries connection errors only, without the SDK's
// client-side retry quota: under sustained throttling that quota would turn
// retries into hard failures, and our callers already pace themselves.
// service names the client in the retry metrics and logs (ObserveRetries).
func TransportRetryer(service string) aws.Retryer {
	return &observedRetryer{service: service, RetryerV2: retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = transportAttempts
		o.RateLimiter = ratelimit.None
		o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
	})}
}

// TransientTransport reports whether err is a failure that may go away on
// its own whatever the service: an error already marked storeerr.ErrRetryable,
// an HTTP 5xx or 429 answer, a lost, refused or timed-out connection. ctx is
// the caller's context: a deadline that hit only the attempt (not the
// caller) is transient too. Unknown errors are not transient.
func TransientTransport(ctx context.Context, err error) bool {
	var (
		resp   *awshttp.ResponseError
		send   *smithyhttp.RequestSendError
		netErr net.Error
	)
	switch {
	case errors.Is(err, storeerr.ErrRetryable):
		return true
	case errors.As(err, &resp) && (resp.HTTPStatusCode() >= 500 || resp.HTTPStatusCode() == http.StatusTooManyRequests):
		return true
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return ctx.Err() == nil // the attempt timed out, the caller still waits
	case errors.As(err, &send), errors.As(err, &netErr):
		return true
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	}
	return false
}
