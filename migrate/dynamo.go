package migrate

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/dynamo"
)

// BatchWriter is the part of the DynamoDB client the backfill uses.
type BatchWriter interface {
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// batchSize is BatchWriteItem's limit.
const batchSize = 25

// maxBatchAttempts bounds the retries of one batch (throttling, unprocessed
// items) before the chunk fails; the chunk's transaction then rolls back
// and a re-run resumes it.
const maxBatchAttempts = 12

// ErrUnprocessed is wrapped when DynamoDB keeps returning unprocessed
// items after every retry.
var ErrUnprocessed = fmt.Errorf("migrate: dynamodb left items unprocessed")

// dynamoWriter writes items with parallel BatchWriteItem calls.
type dynamoWriter struct {
	api      BatchWriter
	table    string
	parallel int
	limiter  *rate.Limiter // nil: no cap
	backoff  sinks.Backoff
}

func newDynamoWriter(api BatchWriter, table string, parallel, wcu int) *dynamoWriter {
	w := &dynamoWriter{api: api, table: table, parallel: max(1, parallel)}
	if wcu > 0 {
		// An item of the layout is under 1 KB: one write unit each.
		w.limiter = rate.NewLimiter(rate.Limit(wcu), max(wcu, batchSize))
	}
	return w
}

// write stores recs (distinct keys) and returns when all are stored.
func (w *dynamoWriter) write(ctx context.Context, recs []sinks.Record) error {
	now := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(w.parallel)
	for start := 0; start < len(recs); start += batchSize {
		part := recs[start:min(start+batchSize, len(recs))]
		g.Go(func() error {
			reqs := make([]types.WriteRequest, 0, len(part))
			for i := range part {
				item, err := dynamo.EncodeItem(&part[i], dynamo.EmailGuestID, now)
				if err != nil {
					return err
				}
				reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
			}
			return w.batch(gctx, reqs)
		})
	}
	return g.Wait()
}

// batch sends one BatchWriteItem and retries what it leaves unprocessed.
func (w *dynamoWriter) batch(ctx context.Context, reqs []types.WriteRequest) error {
	for attempt := 0; ; attempt++ {
		if w.limiter != nil {
			if err := w.limiter.WaitN(ctx, len(reqs)); err != nil {
				return fmt.Errorf("migrate: dynamodb rate limit: %w", err)
			}
		}
		out, err := w.api.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{w.table: reqs},
		})
		switch {
		case err != nil && !dynamo.Transient(ctx, err):
			return fmt.Errorf("migrate: dynamodb batch write: %w", err)
		case err == nil:
			reqs = out.UnprocessedItems[w.table]
			if len(reqs) == 0 {
				return nil
			}
		}
		if attempt+1 >= maxBatchAttempts {
			if err != nil {
				return sinks.Retryable(fmt.Errorf("migrate: dynamodb batch write: %w", err))
			}
			return sinks.Retryable(fmt.Errorf("%w: %d", ErrUnprocessed, len(reqs)))
		}
		if err := w.backoff.Wait(ctx, attempt); err != nil {
			return err
		}
	}
}
