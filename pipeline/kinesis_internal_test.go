package pipeline

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/resingest/resingest/pipeline/lease"
	"github.com/resingest/resingest/sinks"
)

// TestKinesisErrorClasses: the reader's decisions rest on the SDK's typed
// errors as the client returns them (wrapped in an OperationError), never
// on their text.
func TestKinesisErrorClasses(t *testing.T) {
	op := func(err error) error {
		return &smithy.OperationError{ServiceID: "Kinesis", OperationName: "GetRecords", Err: err}
	}
	tests := []struct {
		name                        string
		err                         error
		throttle, expired, retrying bool
	}{
		{"throughput exceeded", op(&types.ProvisionedThroughputExceededException{Message: new(string)}), true, false, true},
		{"limit exceeded", op(&types.LimitExceededException{}), true, false, true},
		{"expired iterator", op(&types.ExpiredIteratorException{}), false, true, false},
		{"stream gone", op(&types.ResourceNotFoundException{}), false, false, false},
		{"marked retryable", fmt.Errorf("read: %w", sinks.ErrRetryable), false, false, true},
		{"unknown", errors.New("ProvisionedThroughputExceededException"), false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isThrottle(tt.err); got != tt.throttle {
				t.Errorf("isThrottle = %v, want %v", got, tt.throttle)
			}
			if got := isExpiredIterator(tt.err); got != tt.expired {
				t.Errorf("isExpiredIterator = %v, want %v", got, tt.expired)
			}
			if got := sinks.IsRetryable(classifyKinesis(context.Background(), tt.err)); got != tt.retrying {
				t.Errorf("retryable = %v, want %v", got, tt.retrying)
			}
		})
	}
}

func TestKinesisConfigValidate(t *testing.T) {
	base := func() KinesisConfig {
		return KinesisConfig{Stream: "s", Client: nilClient{}, Leases: lease.NewTable(nil, "t"), WorkerID: "w"}
	}
	tests := []struct {
		name   string
		mutate func(*KinesisConfig)
		want   string
	}{
		{"no stream", func(c *KinesisConfig) { c.Stream = "" }, "kinesis: --stream is required"},
		{"no lease table", func(c *KinesisConfig) { c.Leases = nil }, "kinesis: a lease table is required"},
		{"no worker id", func(c *KinesisConfig) { c.WorkerID = "" }, "kinesis: --worker-id must not be empty"},
		{"bad position", func(c *KinesisConfig) { c.StartPosition = "NOW" },
			`kinesis: --start-position "NOW": must be TRIM_HORIZON, LATEST or AT_TIMESTAMP`},
		{"timestamp missing", func(c *KinesisConfig) { c.StartPosition = lease.AtTimestamp },
			"kinesis: --start-position AT_TIMESTAMP needs --start-timestamp"},
		{"batch too large", func(c *KinesisConfig) { c.BatchSize = 10001 },
			"kinesis: --batch-size 10001: must be between 1 and 10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.mutate(&c)
			err := c.validate()
			if err == nil || err.Error() != tt.want {
				t.Fatalf("validate: %v, want %q", err, tt.want)
			}
		})
	}
}

// nilClient satisfies KinesisAPI for validation tests; it is never called.
type nilClient struct{ KinesisAPI }

func TestKinesisConfigDefaults(t *testing.T) {
	c := KinesisConfig{Stream: "s", Client: nilClient{}, Leases: lease.NewTable(nil, "t"), WorkerID: "w"}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	if c.StartPosition != lease.TrimHorizon || c.BatchSize != 1000 || c.LeaseDuration.String() != "10s" ||
		c.TakeInterval.String() != "5s" || c.IdlePoll.String() != "1s" || c.IdlePollMax.String() != "5s" {
		t.Errorf("defaults %+v", c)
	}
}
