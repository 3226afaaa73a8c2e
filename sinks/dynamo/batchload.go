package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/resingest/resingest/sinks"
)

// BatchWriter is the part of the DynamoDB client a BatchLoader uses;
// *dynamodb.Client implements it.
type BatchWriter interface {
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// batchWriteMax is BatchWriteItem's limit of items per request.
const batchWriteMax = 25

// MaxBatchAttempts bounds the retries of one BatchWriteItem (throttling,
// unprocessed items) before Write fails with a retryable error.
const MaxBatchAttempts = 12

// ErrUnprocessed is wrapped when DynamoDB keeps returning unprocessed
// items after MaxBatchAttempts.
var ErrUnprocessed = fmt.Errorf("dynamo: items left unprocessed")

// BatchLoader writes items with parallel, unconditional BatchWriteItem
// calls: the backfill's batch mode, for keys no live writer holds (it has
// no version guard; see migrate). Safe for concurrent use once made.
type BatchLoader struct {
	api      BatchWriter
	table    string
	parallel int
	limiter  *rate.Limiter // nil: no cap
	// Backoff paces the retries of throttled or unprocessed items; set it
	// before the first Write.
	Backoff sinks.Backoff
}

// NewBatchLoader writes into table with at most parallel requests at once
// and, when wcu > 0, at most wcu items a second (the layout's items are
// under 1 KB: one write unit each).
func NewBatchLoader(api BatchWriter, table string, parallel, wcu int) *BatchLoader {
	l := &BatchLoader{api: api, table: table, parallel: max(1, parallel)}
	if wcu > 0 {
		l.limiter = rate.NewLimiter(rate.Limit(wcu), max(wcu, batchWriteMax))
	}
	return l
}

// Write stores recs (distinct keys) and returns when all are stored.
func (l *BatchLoader) Write(ctx context.Context, recs []sinks.Record) error {
	now := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(l.parallel)
	for start := 0; start < len(recs); start += batchWriteMax {
		part := recs[start:min(start+batchWriteMax, len(recs))]
		g.Go(func() error {
			reqs := make([]types.WriteRequest, 0, len(part))
			for i := range part {
				item, err := EncodeItem(&part[i], EmailGuestID, now)
				if err != nil {
					return err
				}
				reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
			}
			return l.batch(gctx, reqs)
		})
	}
	return g.Wait()
}

// batch sends one BatchWriteItem and retries what it leaves unprocessed.
func (l *BatchLoader) batch(ctx context.Context, reqs []types.WriteRequest) error {
	for attempt := 0; ; attempt++ {
		if l.limiter != nil {
			if err := l.limiter.WaitN(ctx, len(reqs)); err != nil {
				return fmt.Errorf("dynamo: batch write rate limit: %w", err)
			}
		}
		out, err := l.api.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{l.table: reqs},
		})
		switch {
		case err != nil && !Transient(ctx, err):
			return fmt.Errorf("dynamo: batch write: %w", err)
		case err == nil:
			reqs = out.UnprocessedItems[l.table]
			if len(reqs) == 0 {
				return nil
			}
		}
		if attempt+1 >= MaxBatchAttempts {
			if err != nil {
				return sinks.Retryable(fmt.Errorf("dynamo: batch write: %w", err))
			}
			return sinks.Retryable(fmt.Errorf("%w: %d", ErrUnprocessed, len(reqs)))
		}
		if err := l.Backoff.Wait(ctx, attempt); err != nil {
			return err
		}
	}
}
