package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/resingest/resingest/internal/awsclient"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// putCondition applies a write only over an older version (or no item).
// Version strings sort like versions, so DynamoDB's string order decides.
const putCondition = "attribute_not_exists(#pk) OR #v < :v"

// putConditionRefresh also replaces an item of the same version
// (Options.RewriteEqual).
const putConditionRefresh = "attribute_not_exists(#pk) OR #v <= :v"

// Write stores recs and returns one Result per record, in order.
//
// Records are written in parallel (at most Options.MaxInFlight PutItem
// calls at once). When several records of a batch share a key only the
// newest is sent; the others are Stale (older) or share its outcome as
// Duplicate (same version), exactly as if they had been written after it.
// Invalid records fail permanently; transient errors are retried until
// Options.MaxAttempts or until ctx ends, and then fail with an error that
// sinks.IsRetryable reports true for.
//
// The error is ErrClosed after Close, ctx.Err() when ctx ended before
// every record had an outcome, and nil otherwise; the results are
// complete in those cases. When DynamoDB refuses the store itself (a
// missing table, refused credentials, a KMS key) the error is a
// *sinks.StoreError and wraps ErrStoreUnavailable
// and no results are returned: no record is at fault.
func (s *Sink) Write(ctx context.Context, recs []sinks.Record) ([]sinks.Result, error) {
	results := make([]sinks.Result, len(recs))
	if !s.gate.Enter() {
		for i := range results {
			results[i] = sinks.Result{Outcome: sinks.Failed, Err: sinks.Retryable(ErrClosed)}
		}
		return results, ErrClosed
	}
	defer s.gate.Leave()

	leader := make(map[reservation.Key]int, len(recs)) // key -> index of its newest record
	var order []int
	for i := range recs {
		r := &recs[i].Reservation
		if err := sinks.CheckKeyed(&recs[i]); err != nil {
			results[i] = sinks.Result{Outcome: sinks.Failed, Err: fmt.Errorf("dynamo: %w", err)}
			continue
		}
		j, seen := leader[r.Key()]
		switch {
		case !seen:
			order = append(order, i)
			leader[r.Key()] = i
		case recs[i].Version.Compare(recs[j].Version) > 0:
			leader[r.Key()] = i
		}
	}

	var g errgroup.Group
	g.SetLimit(s.opts.MaxInFlight)
	for _, first := range order {
		i := leader[recs[first].Reservation.Key()]
		g.Go(func() error {
			results[i] = s.writeOne(ctx, &recs[i])
			return nil
		})
	}
	_ = g.Wait() // writeOne reports through results, never an error
	for i := range results {
		if results[i].Outcome != sinks.Failed {
			continue
		}
		if class, fix, ok := storeFailure(ctx, s.opts.Table, results[i].Err); ok {
			return results[:0], sinks.NewStoreError(storeName, class, fix, storeError(s.opts.Table, results[i].Err))
		}
	}

	for i := range recs {
		if results[i].Err != nil { // invalid record
			continue
		}
		if j := leader[recs[i].Reservation.Key()]; j != i {
			results[i] = follow(results[j], recs[i].Version.Compare(recs[j].Version))
		}
	}
	var err error
	for _, res := range results {
		s.count(res)
		if cerr := ctx.Err(); cerr != nil && res.Outcome == sinks.Failed && errors.Is(res.Err, cerr) {
			err = cerr
		}
	}
	return results, err
}

// follow is the outcome of a record written right after its batch's newest
// record of the same key, which got lead; cmp compares the two versions.
func follow(lead sinks.Result, cmp int) sinks.Result {
	switch {
	case lead.Outcome == sinks.Failed:
		return lead
	case cmp < 0 || lead.Outcome == sinks.Stale:
		return sinks.Result{Outcome: sinks.Stale}
	default:
		return sinks.Result{Outcome: sinks.Duplicate}
	}
}

// writeOne puts one record, retrying transient errors, and works out
// Stale versus Duplicate when the version guard refuses the write.
func (s *Sink) writeOne(ctx context.Context, rec *sinks.Record) sinks.Result {
	key := rec.Reservation.Key()
	item, err := encodeItem(rec, s.opts.GuestID, s.opts.Now())
	if err == nil {
		err = checkSize(key, item) // DynamoDB would refuse it with a ValidationException
	}
	if err != nil {
		return sinks.Result{Outcome: sinks.Failed, Err: err}
	}
	version := rec.Version.String()
	in := &dynamodb.PutItemInput{
		TableName:                           aws.String(s.opts.Table),
		Item:                                item,
		ConditionExpression:                 aws.String(s.putCondition()),
		ExpressionAttributeNames:            map[string]string{"#pk": attrPK, "#v": attrVersion},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: version}},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return failed(key, err, true)
		}
		outcome, err := s.attempt(ctx, key, in, version)
		if err == nil {
			return sinks.Result{Outcome: outcome}
		}
		if !transient(ctx, err) {
			return failed(key, err, cancelled(ctx, err))
		}
		if s.opts.MaxAttempts > 0 && attempt+1 >= s.opts.MaxAttempts {
			class, ok := awsclient.Classify(ctx, err)
			if !ok {
				return failed(key, err, true)
			}
			// Throttled or unreachable after every attempt: the store's
			// failure, retried later by the caller.
			return sinks.Result{Outcome: sinks.Failed, Err: sinks.NewStoreError(storeName, class, "", fmt.Errorf("dynamo: put %s: %w", key, err))}
		}
		s.retries.Add(1)
		s.opts.Logger.DebugContext(ctx, "dynamo: retrying write", "key", key.String(), "attempt", attempt+1, "err", err)
		if werr := s.opts.Backoff.Wait(ctx, attempt); werr != nil {
			return failed(key, fmt.Errorf("%w (last error: %w)", werr, err), true)
		}
	}
}

// errVersionRace means the guard refused the write but the stored version
// turned out older (or the item vanished): the put is simply tried again.
var errVersionRace = sinks.Retryable(errors.New("dynamo: stored version changed during the write"))

// errNoVersion means an item without a version attribute holds the key:
// not written by this package, and never overwritten by it.
var errNoVersion = errors.New("dynamo: stored item has no version")

// attempt makes one PutItem call and, when the guard refuses it, reads
// the stored version to tell Stale from Duplicate.
func (s *Sink) attempt(ctx context.Context, key reservation.Key, in *dynamodb.PutItemInput, version string) (sinks.Outcome, error) {
	actx, cancel := context.WithTimeout(ctx, s.opts.AttemptTimeout)
	defer cancel()
	s.attempts.Add(1)
	_, err := s.api.PutItem(actx, in)
	if err == nil {
		return sinks.Stored, nil
	}
	var refused *types.ConditionalCheckFailedException
	if !errors.As(err, &refused) {
		return sinks.Failed, err
	}
	stored, found := stringAttr(refused.Item, attrVersion), refused.Item != nil
	if !found { // servers without ReturnValuesOnConditionCheckFailure
		if stored, found, err = s.storedVersion(actx, key); err != nil {
			return sinks.Failed, err
		}
	}
	switch c := strings.Compare(version, stored); {
	case found && stored == "":
		return sinks.Failed, errNoVersion
	case !found || c > 0:
		return sinks.Failed, errVersionRace
	case c == 0:
		return sinks.Duplicate, nil
	default:
		return sinks.Stale, nil
	}
}

// storedVersion reads the version of the stored item, strongly consistent.
func (s *Sink) storedVersion(ctx context.Context, key reservation.Key) (string, bool, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.opts.Table),
		Key:                      keyOf(key),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#v"),
		ExpressionAttributeNames: map[string]string{"#v": attrVersion},
	})
	if err != nil {
		return "", false, err
	}
	if out.Item == nil {
		return "", false, nil
	}
	return stringAttr(out.Item, attrVersion), true, nil
}

func failed(key reservation.Key, err error, retryable bool) sinks.Result {
	err = fmt.Errorf("dynamo: put %s: %w", key, err)
	if retryable {
		err = sinks.Retryable(err)
	}
	return sinks.Result{Outcome: sinks.Failed, Err: err}
}

// cancelled reports whether err is the caller's context ending, which
// leaves the write undone but worth retrying later.
func cancelled(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

func (s *Sink) putCondition() string {
	if s.opts.RewriteEqual {
		return putConditionRefresh
	}
	return putCondition
}
