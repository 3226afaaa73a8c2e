package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/kinesisput"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/sinks"
)

// messageKey is the partition key of a message: the confirmation number of
// its first reservation, the key 'resingest produce' gives Kafka records,
// so every version of a reservation lands on one shard, in order. A
// message the parser rejects gets fallback (Kinesis requires a key).
func messageKey(p *parse.Parser, value []byte, fallback string) string {
	if recs, err := p.Parse(value); err == nil && len(recs) > 0 && recs[0].Confirmation != "" {
		return recs[0].Confirmation
	}
	return fallback
}

// genToKinesis puts the first count messages of the corpus for o onto
// stream, keyed by confirmation number.
func genToKinesis(ctx context.Context, o genOptions, logger *slog.Logger) error {
	client, err := pipeline.NewKinesisClient(ctx, o.kinesisEndpoint)
	if err != nil {
		return err
	}
	p, err := parse.New(parse.Options{})
	if err != nil {
		return err
	}
	g := corpus.New(corpus.Options{Seed: o.seed, Hotels: o.hotels})
	start := time.Now()
	var bytes int64
	batch := make([]types.PutRecordsRequestEntry, 0, kinesisput.MaxEntries)
	flush := func() error {
		err := kinesisput.Put(ctx, client, o.kinesisStream, batch, sinks.Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second})
		batch = batch[:0]
		return err
	}
	for i := 0; i < o.count; i++ {
		m := g.Next()
		bytes += int64(len(m.XML))
		batch = append(batch, types.PutRecordsRequestEntry{
			Data: m.XML, PartitionKey: aws.String(messageKey(p, m.XML, m.Name)),
		})
		if len(batch) == kinesisput.MaxEntries {
			if err := flush(); err != nil {
				return fmt.Errorf("gen: %w", err)
			}
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	secs := time.Since(start).Seconds()
	logger.Info("messages put to kinesis", "stream", o.kinesisStream, "messages", o.count, "bytes", bytes,
		"seconds", fmt.Sprintf("%.2f", secs), "messages_per_second", fmt.Sprintf("%.0f", float64(o.count)/max(secs, 1e-9)))
	return nil
}
