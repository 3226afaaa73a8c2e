package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/resingest/resingest/internal/awsclient"
)

// NewClient returns a DynamoDB client built from the default AWS
// configuration chain (environment, shared config, instance role). A
// non-empty endpoint (for example a local dynalite such as
// http://127.0.0.1:4567) replaces the service endpoint. optFns are passed
// to config.LoadDefaultConfig (region, profile, credentials, ...).
//
// The client is safe for concurrent use.
func NewClient(ctx context.Context, endpoint string, optFns ...func(*config.LoadOptions) error) (*dynamodb.Client, error) {
	cfg, err := awsclient.Config(ctx, endpoint, optFns...)
	if err != nil {
		return nil, fmt.Errorf("dynamo: %w", err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.Retryer = awsclient.TransportRetryer("dynamo")
	}), nil
}
