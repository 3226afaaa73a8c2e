package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/internal/awsclient"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/sinks"
)

// PutRecords limits: 500 entries and 5 MB per request (1 MB per record).
const (
	putMaxEntries = 500
	putMaxBytes   = 5 << 20
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

// recordPutter is the part of the Kinesis client putRecords uses.
type recordPutter interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// putRecords sends entries in requests of up to 500 entries and 5 MB,
// keeping the order of the entries of each partition key: a request holds
// at most one entry per key and is fully accepted before the next one
// goes, so an entry the service refused (throttled, internal failure) is
// sent again, alone, after a backoff, before any later entry of its key.
// The accepted entries are never sent twice. It gives up when ctx ends or
// on an error that is not transient, a per-entry one included
// (*refusedError); what was accepted until then stays in the stream.
func putRecords(ctx context.Context, api recordPutter, stream string, entries []types.PutRecordsRequestEntry, backoff sinks.Backoff) error {
	for pending := entries; len(pending) > 0; {
		var req, rest []types.PutRecordsRequestEntry
		// busy: keys in this request, or with an earlier entry left for a
		// later one; their next entries must wait too.
		busy := make(map[string]bool)
		size := 0
		for _, e := range pending {
			key := aws.ToString(e.PartitionKey)
			n := len(e.Data) + len(key)
			if busy[key] || len(req) == putMaxEntries || size+n > putMaxBytes {
				if len(req) == 0 {
					return fmt.Errorf("kinesis: a record of %d bytes is larger than a PutRecords request", n)
				}
				busy[key] = true
				rest = append(rest, e)
				continue
			}
			busy[key] = true
			size += n
			req = append(req, e)
		}
		if err := putBatch(ctx, api, stream, req, backoff); err != nil {
			return err
		}
		pending = rest
	}
	return nil
}

// refusedError reports entries the service refused for a reason that is
// not transient (e.g. a KMS key it may not use); they were not put.
type refusedError struct {
	Stream  string
	Code    string // the per-entry ErrorCode
	Records int
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("kinesis: %d records refused by %s: %s", e.Records, e.Stream, e.Code)
}

// transientEntryError reports the per-entry error codes worth a retry.
func transientEntryError(code string) bool {
	switch code {
	case "ProvisionedThroughputExceededException", "InternalFailure", "KMSThrottlingException":
		return true
	}
	return false
}

// putBatch sends one request's entries until all are accepted.
func putBatch(ctx context.Context, api recordPutter, stream string, pending []types.PutRecordsRequestEntry, backoff sinks.Backoff) error {
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			if err := backoff.Wait(ctx, attempt-1); err != nil {
				return fmt.Errorf("kinesis: %d records not put: %w", len(pending), err)
			}
		}
		out, err := api.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: pending})
		if err != nil {
			var pt *types.ProvisionedThroughputExceededException
			if errors.As(err, &pt) || awsclient.TransientTransport(ctx, err) {
				continue
			}
			return fmt.Errorf("kinesis: put records to %s: %w", stream, err)
		}
		if aws.ToInt32(out.FailedRecordCount) == 0 {
			return nil
		}
		var again []types.PutRecordsRequestEntry
		var refused *refusedError
		for i, r := range out.Records {
			switch code := aws.ToString(r.ErrorCode); {
			case code == "":
			case transientEntryError(code):
				again = append(again, pending[i])
			case refused == nil:
				refused = &refusedError{Stream: stream, Code: code, Records: 1}
			default:
				refused.Records++
			}
		}
		if refused != nil {
			return refused
		}
		slog.Warn("kinesis refused records for now, retrying them", "records", len(again), "attempt", attempt+1)
		pending = again
	}
	return nil
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
	batch := make([]types.PutRecordsRequestEntry, 0, putMaxEntries)
	flush := func() error {
		err := putRecords(ctx, client, o.kinesisStream, batch, sinks.Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second})
		batch = batch[:0]
		return err
	}
	for i := 0; i < o.count; i++ {
		m := g.Next()
		bytes += int64(len(m.XML))
		batch = append(batch, types.PutRecordsRequestEntry{
			Data: m.XML, PartitionKey: aws.String(messageKey(p, m.XML, m.Name)),
		})
		if len(batch) == putMaxEntries {
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
