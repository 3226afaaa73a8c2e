package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/pipeline/lease"
	"github.com/resingest/resingest/sinks"
)

// slowSink delays every write, like a store under load.
type slowSink struct {
	delay time.Duration
	inner *fakeSink
}

func (s slowSink) Write(ctx context.Context, recs []sinks.Record) ([]sinks.Result, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(s.delay):
	}
	return s.inner.Write(ctx, recs)
}

// TestKinesisSlowBatchKeepsLease: batches that take longer than the lease
// duration do not cost the lease, since renewals run on their own
// goroutine; another worker watching the table never sees it expire.
func TestKinesisSlowBatchKeepsLease(t *testing.T) {
	t.Parallel()
	s := newTestStream(t, 1)
	const n, batchSize = 20, 10
	entries := make([]types.PutRecordsRequestEntry, n)
	for i := range entries {
		conf := fmt.Sprintf("SL%04d", i)
		entries[i] = types.PutRecordsRequestEntry{Data: unitMessage(i, conf), PartitionKey: aws.String(conf)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := s.Client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(s.Name), Records: entries})
	if err != nil {
		t.Fatal(err)
	}
	ledger := newFakeLedger()
	proc := brokenProcessor(t, ledger, slowSink{delay: 2500 * time.Millisecond, inner: newFakeSink()}, newFakeSink())
	cfg := s.config("slow")
	cfg.BatchSize = batchSize
	cfg.LeaseDuration = time.Second

	// The thief watches with the same lease duration from the start.
	if err := s.Leases.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	thief, err := lease.NewManager(s.Leases, lease.Config{WorkerID: "thief", LeaseDuration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	stolen := make(chan int, 1)
	watch, stopWatch := context.WithCancel(ctx)
	go func() {
		gained := 0
		for watch.Err() == nil {
			res, err := thief.Take(watch)
			if err == nil {
				gained += len(res.Gained)
			}
			time.Sleep(200 * time.Millisecond)
		}
		stolen <- gained
	}()
	err = pipeline.RunKinesis(ctx, cfg, proc, pipeline.RunOptions{Logger: testLogger(t), ExitWhenIdle: time.Second})
	stopWatch()
	if err != nil {
		t.Fatal(err)
	}
	if got := <-stolen; got != 0 {
		t.Fatalf("another worker took %d leases from a worker busy with slow batches", got)
	}
	if ledger.auditCount() != n {
		t.Errorf("%d messages audited, want %d", ledger.auditCount(), n)
	}
	shard := aws.ToString(out.Records[0].ShardId)
	if cp := s.leases(t)[shard].Checkpoint; cp != aws.ToString(out.Records[n-1].SequenceNumber) {
		t.Errorf("checkpoint %s, want the last record", cp)
	}
}
