package archive

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/resingest/resingest/internal/awsclient"
)

// NewClient returns an S3 client built from the default AWS configuration
// chain (environment, shared config, instance role). A non-empty endpoint
// (a local S3-compatible server such as http://127.0.0.1:28002) replaces
// the service endpoint and switches to path-style addressing, which local
// servers need. optFns are passed to config.LoadDefaultConfig.
//
// The client is safe for concurrent use.
func NewClient(ctx context.Context, endpoint string, optFns ...func(*config.LoadOptions) error) (*s3.Client, error) {
	cfg, err := awsclient.Config(ctx, endpoint, optFns...)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
		o.Retryer = awsclient.TransportRetryer("archive")
	}), nil
}
