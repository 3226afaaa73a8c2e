package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// localRegion is used when an endpoint is given and no region is
// configured: local servers (dynalite) accept any region, but the SDK
// needs one to sign requests.
const localRegion = "us-east-1"

// transportAttempts bounds the SDK's own retries. They cover only
// connection errors; throttling and 5xx answers come back to the sink,
// whose backoff runs until the context ends and counts every retry.
const transportAttempts = 3

// NewClient returns a DynamoDB client built from the default AWS
// configuration chain (environment, shared config, instance role). A
// non-empty endpoint (for example a local dynalite such as
// http://127.0.0.1:4567) replaces the service endpoint. optFns are passed
// to config.LoadDefaultConfig (region, profile, credentials, ...).
//
// The client is safe for concurrent use.
func NewClient(ctx context.Context, endpoint string, optFns ...func(*config.LoadOptions) error) (*dynamodb.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx, optFns...)
	if err != nil {
		return nil, fmt.Errorf("dynamo: load AWS config: %w", err)
	}
	if cfg.Region == "" && endpoint != "" {
		cfg.Region = localRegion
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
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
