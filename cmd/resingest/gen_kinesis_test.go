package main

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
)

// TestGenKinesisStream puts a generated corpus onto a 2-shard kinesalite
// stream: every message arrives once, with its confirmation number as
// partition key, and the versions of a reservation on one shard in order.
func TestGenKinesisStream(t *testing.T) {
	testenv.SetAWSDefaults()
	endpoint := testenv.KinesisEndpoint(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := pipeline.NewKinesisClient(ctx, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	stream := testenv.UniqueName("gen")
	if _, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := client.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String(stream)}); err != nil {
			t.Errorf("delete stream: %v", err)
		}
	})
	for {
		out, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("stream not active")
		}
		time.Sleep(50 * time.Millisecond)
	}
	const count = 600 // more than one PutRecords request
	if stderr, err := runCLI(t, "gen", "--count", "600", "--seed", "9", "--kinesis-stream", stream, "--kinesis-endpoint", endpoint); err != nil {
		t.Fatalf("gen: %v\n%s", err, stderr)
	}

	g := corpus.New(corpus.Options{Seed: 9, Hotels: corpus.DefaultHotels})
	want := make(map[string]corpus.Message, count)
	for range count {
		m := g.Next()
		want[string(m.XML)] = m
	}
	p, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	shardOf := map[string]string{} // confirmation -> shard
	version := map[string]int{}    // confirmation -> last version read
	for _, shard := range []string{"shardId-000000000000", "shardId-000000000001"} {
		it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		out, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Records {
			m, ok := want[string(r.Data)]
			if !ok {
				t.Fatalf("shard %s holds a record that is not in the corpus", shard)
			}
			delete(want, string(r.Data))
			seen++
			key := aws.ToString(r.PartitionKey)
			if key != m.Key || key != messageKey(p, r.Data, "") {
				t.Errorf("%s: partition key %q, want the confirmation %q", m.Name, key, m.Key)
			}
			if prev, ok := shardOf[key]; ok && prev != shard {
				t.Errorf("reservation %s on two shards", key)
			}
			shardOf[key] = shard
			if m.Expect.Version <= version[key] {
				t.Errorf("reservation %s: version %d read after %d", key, m.Expect.Version, version[key])
			}
			version[key] = m.Expect.Version
		}
	}
	if seen != count || len(want) != 0 {
		t.Fatalf("read %d records, %d corpus messages missing; want %d", seen, len(want), count)
	}
}

func TestMessageKeyFallback(t *testing.T) {
	p, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := messageKey(p, []byte("not xml"), "msg-000007.xml"); got != "msg-000007.xml" {
		t.Errorf("key of an unparseable message %q, want the fallback", got)
	}
	m := corpus.New(corpus.Options{Seed: 1}).Next()
	if got := messageKey(p, m.XML, "fallback"); got != m.Key {
		t.Errorf("key %q, want the confirmation %q", got, m.Key)
	}
}
