// Package peek reads messages from a source without leaving any trace on
// it: no consumer group and no committed offsets on Kafka, no leases and no
// checkpoints on Kinesis, files left as they are. It backs 'resingest consume
// --dry-run', which tries a mapping against live traffic.
package peek

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Handler receives one message and a name for it (file name, topic/
// partition@offset, stream/shard@sequence). It must not keep msg.
type Handler func(name string, msg []byte)

// Files hands every *.xml file of dir to fn, in name order. A file is read
// up to maxBytes+1 bytes, enough for the parser to reject an oversized one.
func Files(ctx context.Context, dir string, maxBytes int, fn Handler) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("peek: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("peek: %s is not a directory", dir)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil {
		return fmt.Errorf("peek: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil // stopped: what was read counts
		}
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("peek: %w", err)
		}
		msg, err := io.ReadAll(io.LimitReader(f, int64(maxBytes)+1))
		f.Close()
		if err != nil {
			return fmt.Errorf("peek: %s: %w", name, err)
		}
		fn(filepath.Base(name), msg)
	}
	return nil
}

// KafkaConfig names what Kafka reads.
type KafkaConfig struct {
	Brokers []string
	Topic   string
	// FromStart reads from the oldest record of each partition; false from
	// the newest (only records produced after the start).
	FromStart bool
}

// Kafka reads the topic as a plain consumer (no group, so nothing is ever
// committed) and hands each record to fn, until no record arrived for idle
// (0: until ctx ends).
func Kafka(ctx context.Context, cfg KafkaConfig, idle time.Duration, fn Handler) error {
	if len(cfg.Brokers) == 0 || cfg.Topic == "" {
		return errors.New("peek: kafka needs brokers and a topic")
	}
	reset := kgo.NewOffset().AtEnd()
	if cfg.FromStart {
		reset = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.ConsumeResetOffset(reset),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if err != nil {
		return fmt.Errorf("peek: kafka: %w", err)
	}
	defer cl.Close()
	// A missing topic would read as an empty one: say so instead.
	topics, err := kadm.NewClient(cl).ListTopics(ctx, cfg.Topic)
	if err != nil {
		return fmt.Errorf("peek: kafka: metadata of %s: %w", cfg.Topic, err)
	}
	if td, ok := topics[cfg.Topic]; !ok || td.Err != nil {
		return fmt.Errorf("peek: kafka: topic %q does not exist", cfg.Topic)
	}
	last := time.Now()
	for ctx.Err() == nil {
		pollCtx, cancel := context.WithTimeout(ctx, time.Second)
		fetches := cl.PollFetches(pollCtx)
		cancel()
		if fetches.IsClientClosed() {
			return nil
		}
		n := 0
		fetches.EachRecord(func(r *kgo.Record) {
			n++
			fn(r.Topic+"/"+strconv.Itoa(int(r.Partition))+"@"+strconv.FormatInt(r.Offset, 10), r.Value)
		})
		if n > 0 {
			last = time.Now()
		} else if idle > 0 && time.Since(last) >= idle {
			return nil
		}
	}
	return nil
}

// KinesisAPI is the part of the Kinesis client Kinesis uses.
type KinesisAPI interface {
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

// KinesisConfig names what Kinesis reads.
type KinesisConfig struct {
	Client KinesisAPI
	Stream string
	// StartPosition is TRIM_HORIZON, LATEST or AT_TIMESTAMP (with
	// StartTimestamp).
	StartPosition  string
	StartTimestamp time.Time
	// Poll is the wait between rounds that found nothing (default 500ms).
	Poll time.Duration
}

// Kinesis reads every shard of the stream with plain shard iterators (no
// leases, no checkpoints) and hands each record to fn, until no record
// arrived for idle (0: until ctx ends). Shards are read round-robin, a
// round at a time.
func Kinesis(ctx context.Context, cfg KinesisConfig, idle time.Duration, fn Handler) error {
	if cfg.Client == nil || cfg.Stream == "" {
		return errors.New("peek: kinesis needs a client and a stream")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	iters := map[string]*string{}
	var shards []string
	var next *string
	for {
		in := &kinesis.ListShardsInput{NextToken: next}
		if next == nil {
			in.StreamName = aws.String(cfg.Stream)
		}
		out, err := cfg.Client.ListShards(ctx, in)
		if err != nil {
			return fmt.Errorf("peek: kinesis: list shards of %s: %w", cfg.Stream, err)
		}
		for _, s := range out.Shards {
			shards = append(shards, aws.ToString(s.ShardId))
		}
		if next = out.NextToken; next == nil {
			break
		}
	}
	for _, id := range shards {
		in := &kinesis.GetShardIteratorInput{StreamName: aws.String(cfg.Stream), ShardId: aws.String(id),
			ShardIteratorType: types.ShardIteratorType(cfg.StartPosition)}
		if cfg.StartPosition == string(types.ShardIteratorTypeAtTimestamp) {
			in.Timestamp = aws.Time(cfg.StartTimestamp)
		}
		out, err := cfg.Client.GetShardIterator(ctx, in)
		if err != nil {
			return fmt.Errorf("peek: kinesis: iterator of %s/%s: %w", cfg.Stream, id, err)
		}
		iters[id] = out.ShardIterator
	}
	last := time.Now()
	for ctx.Err() == nil {
		n := 0
		for _, id := range shards {
			it := iters[id]
			if it == nil {
				continue // a closed shard read to its end
			}
			out, err := cfg.Client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it})
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("peek: kinesis: read %s/%s: %w", cfg.Stream, id, err)
			}
			for _, r := range out.Records {
				n++
				fn(cfg.Stream+"/"+id+"@"+aws.ToString(r.SequenceNumber), r.Data)
			}
			iters[id] = out.NextShardIterator
		}
		if n > 0 {
			last = time.Now()
			continue
		}
		if idle > 0 && time.Since(last) >= idle {
			return nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(cfg.Poll):
		}
	}
	return nil
}
