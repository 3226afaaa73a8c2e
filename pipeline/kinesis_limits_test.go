package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/resingest/resingest/pipeline"
)

// TestKinesisCallLimit reads a shard one record per GetRecords call: the
// reader keeps to the shard's 5 calls per second.
func TestKinesisCallLimit(t *testing.T) {
	t.Parallel()
	s := newTestStream(t, 1)
	const n = 16
	entries := make([]types.PutRecordsRequestEntry, n)
	for i := range entries {
		conf := fmt.Sprintf("RL%04d", i)
		entries[i] = types.PutRecordsRequestEntry{Data: unitMessage(i, conf), PartitionKey: aws.String(conf)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.Client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(s.Name), Records: entries}); err != nil {
		t.Fatal(err)
	}
	proc, _ := unitProcessor(t, newFakeLedger(), nil, newFakeSink())
	cfg := s.config("w")
	cfg.BatchSize = 1
	cfg.Metrics = pipeline.NewKinesisMetrics(prometheus.NewRegistry())
	var first, last time.Time
	var counts outcomeCounter
	err := pipeline.RunKinesis(ctx, cfg, proc, pipeline.RunOptions{
		Logger: testLogger(t), ExitWhenIdle: time.Second,
		OnBatch: func(o []pipeline.Outcome) {
			if first.IsZero() {
				first = time.Now()
			}
			last = time.Now()
			counts.add(o)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if counts.get() != n {
		t.Fatalf("%d messages, want %d", counts.get(), n)
	}
	// n-1 calls after the first at no more than 5 per second.
	if min := time.Duration(n-1) * time.Second / 5; last.Sub(first) < min*9/10 {
		t.Errorf("%d single-record reads took %v, faster than 5 calls/s allows (%v)", n, last.Sub(first), min)
	}
	if got := counterValue(t, cfg.Metrics.Records.WithLabelValues("shardId-000000000000")); got != n {
		t.Errorf("records metric %v, want %d", got, n)
	}
}
