package pipeline

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/resingest/resingest/internal/awsclient"
)

// KinesisAPI is the part of the Kinesis client a worker uses.
type KinesisAPI interface {
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

// NewKinesisClient returns a Kinesis client; a non-empty endpoint points it
// at a local server (kinesalite). The SDK retries connection errors only:
// throttling comes back to the reader, which paces itself and counts it.
func NewKinesisClient(ctx context.Context, endpoint string) (*kinesis.Client, error) {
	cfg, err := awsclient.Config(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.Retryer = awsclient.TransportRetryer("kinesis")
	}), nil
}

// isThrottle reports a per-shard or account limit answer.
func isThrottle(err error) bool {
	var pt *types.ProvisionedThroughputExceededException
	var le *types.LimitExceededException
	return errors.As(err, &pt) || errors.As(err, &le)
}

// isExpiredIterator reports an iterator older than five minutes.
func isExpiredIterator(err error) bool {
	var ei *types.ExpiredIteratorException
	return errors.As(err, &ei)
}
