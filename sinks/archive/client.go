package archive

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// localRegion is used when an endpoint is given and no region is
// configured: local servers accept any region, but the SDK needs one to
// sign requests.
const localRegion = "us-east-1"

// transportAttempts bounds the SDK's own retries. They cover connection
// errors only; throttling and 5xx answers come back to the sink, whose
// backoff paces and counts every retry.
const transportAttempts = 3

// NewClient returns an S3 client built from the default AWS configuration
// chain (environment, shared config, instance role). A non-empty endpoint
// (a local S3-compatible server such as http://127.0.0.1:28002) replaces
// the service endpoint and switches to path-style addressing, which local
// servers need. optFns are passed to config.LoadDefaultConfig.
//
// The client is safe for concurrent use.
func NewClient(ctx context.Context, endpoint string, optFns ...func(*config.LoadOptions) error) (*s3.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx, optFns...)
	if err != nil {
		return nil, fmt.Errorf("archive: load AWS config: %w", err)
	}
	if cfg.Region == "" && endpoint != "" {
		cfg.Region = localRegion
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
		o.Retryer = transportRetryer()
	}), nil
}

// transportRetryer retries connection errors only, without the SDK's
// client-side retry quota: under sustained throttling that quota would turn
// retries into hard failures, and the sink already paces itself.
func transportRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = transportAttempts
		o.RateLimiter = ratelimit.None
		o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
	})
}
