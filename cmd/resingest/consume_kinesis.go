package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/pipeline/lease"
	"github.com/resingest/resingest/sinks/dynamo"
)

// kinesisFlags are the settings of --source kinesis.
type kinesisFlags struct {
	stream            string
	endpoint          string
	leaseTable        string
	workerID          string
	startPosition     string
	startTimestamp    string
	startTime         time.Time // parsed startTimestamp
	leaseDuration     time.Duration
	takeInterval      time.Duration
	shardSyncInterval time.Duration
	idlePoll          time.Duration
}

func (k *kinesisFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&k.stream, "stream", "", "Kinesis stream, for --source kinesis")
	fl.StringVar(&k.endpoint, "kinesis-endpoint", "", "Kinesis endpoint URL; empty: AWS's (env RESINGEST_KINESIS_ENDPOINT)")
	fl.StringVar(&k.leaseTable, "lease-table", "", "DynamoDB table of the stream's shard leases, shared by its workers (default resingest-leases-<stream>); created if missing, on --dynamo-endpoint")
	fl.StringVar(&k.workerID, "worker-id", "", "this worker's lease owner name, unique per running worker (default <hostname>-<pid>)")
	fl.StringVar(&k.startPosition, "start-position", lease.TrimHorizon, "where shards without a checkpoint start: TRIM_HORIZON, LATEST or AT_TIMESTAMP")
	fl.StringVar(&k.startTimestamp, "start-timestamp", "", "RFC 3339 time for --start-position AT_TIMESTAMP")
	fl.DurationVar(&k.leaseDuration, "lease-duration", 10*time.Second, "a worker that does not renew its leases for this long loses them to the others")
	fl.DurationVar(&k.takeInterval, "take-interval", 0, "how often to look for free, expired or unbalanced leases (0: half the lease duration)")
	fl.DurationVar(&k.shardSyncInterval, "shard-sync-interval", 30*time.Second, "how often to list the stream's shards for new ones")
	fl.DurationVar(&k.idlePoll, "idle-poll", time.Second, "wait after an empty read of a shard; doubles while it stays empty, up to 5s")
}

func (k *kinesisFlags) validate(batchSize int) error {
	if k.stream == "" {
		return errors.New("--source kinesis needs --stream")
	}
	switch k.startPosition {
	case lease.TrimHorizon, lease.Latest:
		if k.startTimestamp != "" {
			return errors.New("--start-timestamp needs --start-position AT_TIMESTAMP")
		}
	case lease.AtTimestamp:
		if k.startTimestamp == "" {
			return errors.New("--start-position AT_TIMESTAMP needs --start-timestamp (RFC 3339)")
		}
		t, err := time.Parse(time.RFC3339, k.startTimestamp)
		if err != nil {
			return fmt.Errorf("--start-timestamp %q: not an RFC 3339 time", k.startTimestamp)
		}
		k.startTime = t
	default:
		return fmt.Errorf("--start-position %q: must be TRIM_HORIZON, LATEST or AT_TIMESTAMP", k.startPosition)
	}
	switch {
	case batchSize > 10000:
		return fmt.Errorf("--batch-size %d: Kinesis returns at most 10000 records per call", batchSize)
	case k.leaseDuration <= 0:
		return errors.New("--lease-duration must be positive")
	case k.takeInterval < 0 || k.shardSyncInterval <= 0 || k.idlePoll <= 0:
		return errors.New("--take-interval must be >= 0, --shard-sync-interval and --idle-poll > 0")
	}
	if k.leaseTable == "" {
		k.leaseTable = "resingest-leases-" + k.stream
	}
	if k.workerID == "" {
		host, err := os.Hostname()
		if err != nil {
			host = "worker"
		}
		k.workerID = host + "-" + strconv.Itoa(os.Getpid())
	}
	return nil
}

// runKinesis connects the stream and the lease table and runs the worker.
func runKinesis(ctx context.Context, f *consumeFlags, proc *pipeline.Processor, opts pipeline.RunOptions, m *pipeline.KinesisMetrics) error {
	k := &f.kinesis
	client, err := pipeline.NewKinesisClient(ctx, k.endpoint)
	if err != nil {
		return err
	}
	dyn, err := dynamo.NewClient(ctx, f.stores.dynamoEndpoint)
	if err != nil {
		return err
	}
	return pipeline.RunKinesis(ctx, pipeline.KinesisConfig{
		Stream: k.stream, Client: client, Leases: lease.NewTable(dyn, k.leaseTable), WorkerID: k.workerID,
		StartPosition: k.startPosition, StartTimestamp: k.startTime,
		LeaseDuration: k.leaseDuration, TakeInterval: k.takeInterval, ShardSyncInterval: k.shardSyncInterval,
		BatchSize: f.batchSize, IdlePoll: k.idlePoll, Metrics: m,
	}, proc, opts)
}
