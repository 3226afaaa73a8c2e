package pipeline_test

import (
	"context"
	"errors"
	"math/big"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/pipeline/lease"
	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/dynamo"
)

// testStream is one test's Kinesis stream and lease table, both deleted
// when the test ends.
type testStream struct {
	Client     *kinesis.Client
	Name       string
	LeaseTable string
	Leases     *lease.Table
	Endpoint   string
	dyn        *dynamodb.Client
}

// newTestStream creates a stream of shards shards on the local kinesalite.
func newTestStream(t testing.TB, shards int) *testStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := &testStream{Name: testenv.UniqueName("kin"), LeaseTable: testenv.UniqueName("leases"), Endpoint: testenv.KinesisEndpoint(t)}
	var err error
	if s.Client, err = pipeline.NewKinesisClient(ctx, s.Endpoint); err != nil {
		t.Fatal(err)
	}
	if s.dyn, err = dynamo.NewClient(ctx, testenv.DynamoEndpoint(t)); err != nil {
		t.Fatal(err)
	}
	s.Leases = lease.NewTable(s.dyn, s.LeaseTable)
	if _, err := s.Client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(s.Name), ShardCount: aws.Int32(int32(shards))}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := s.Client.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(s.Name)}); err != nil {
			t.Errorf("delete stream %s: %v", s.Name, err)
		}
		_, err := s.dyn.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(s.LeaseTable)})
		var nf interface{ ErrorCode() string }
		if err != nil && !(errors.As(err, &nf) && nf.ErrorCode() == "ResourceNotFoundException") {
			t.Errorf("delete lease table: %v", err)
		}
	})
	s.waitActive(t)
	return s
}

// waitActive waits until the stream is ACTIVE (after creation or a split).
func (s *testStream) waitActive(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		out, err := s.Client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(s.Name)})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("stream %s not active: %v", s.Name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// put sends files in order, keyed by confirmation number, and returns the
// sequence number of the last record put to each shard.
func (s *testStream) put(t testing.TB, files []string) map[string]string {
	t.Helper()
	p, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	last := make(map[string]string)
	for start := 0; start < len(files); start += 200 {
		end := min(start+200, len(files))
		var entries []types.PutRecordsRequestEntry
		for _, f := range files[start:end] {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			key := f
			if recs, err := p.Parse(data); err == nil && len(recs) > 0 {
				key = recs[0].Confirmation
			}
			entries = append(entries, types.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(key)})
		}
		out, err := s.Client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(s.Name), Records: entries})
		if err != nil {
			t.Fatalf("put records: %v", err)
		}
		if aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("put records: %d failed", aws.ToInt32(out.FailedRecordCount))
		}
		for _, r := range out.Records {
			last[aws.ToString(r.ShardId)] = aws.ToString(r.SequenceNumber)
		}
	}
	return last
}

// leases reads the lease table by shard id.
func (s *testStream) leases(t testing.TB) map[string]lease.Lease {
	t.Helper()
	ls, err := s.Leases.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]lease.Lease, len(ls))
	for _, l := range ls {
		out[l.Key] = l
	}
	return out
}

// config is a KinesisConfig for this stream with short test timings.
func (s *testStream) config(worker string) pipeline.KinesisConfig {
	return pipeline.KinesisConfig{
		Stream: s.Name, Client: s.Client, Leases: s.Leases, WorkerID: worker,
		LeaseDuration: 2 * time.Second, ShardSyncInterval: 2 * time.Second, BatchSize: 100,
		IdlePoll: 100 * time.Millisecond, IdlePollMax: 500 * time.Millisecond,
		Backoff: sinks.Backoff{Initial: 20 * time.Millisecond, Max: 500 * time.Millisecond},
	}
}

// seqLess compares two sequence numbers (decimal strings up to 56 digits).
func seqLess(a, b string) bool {
	x, _ := new(big.Int).SetString(a, 10)
	y, _ := new(big.Int).SetString(b, 10)
	return x.Cmp(y) < 0
}

// outcomeCounter counts the outcomes of acknowledged batches.
type outcomeCounter struct {
	mu     sync.Mutex
	counts map[pipeline.Outcome]int
	total  int
}

func (c *outcomeCounter) add(outcomes []pipeline.Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = make(map[pipeline.Outcome]int)
	}
	for _, o := range outcomes {
		c.counts[o]++
	}
	c.total += len(outcomes)
}

func (c *outcomeCounter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}
