package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/internal/awsclient"
	"github.com/resingest/resingest/sinks"
)

// ErrStoreUnavailable is wrapped by Write's error when DynamoDB refused the
// store itself (no such table, credentials refused or not allowed): no
// record is at fault, so none is failed for good (which would dead-letter
// every message); the batch fails instead and the worker stops with the
// reason.
var ErrStoreUnavailable = errors.New("dynamo: store unavailable")

// storeFailure classifies err as a refusal of the store itself, whatever
// the record: a missing table (ResourceNotFoundException), refused
// credentials or a KMS key (awsclient.Classify). ok is false for other
// errors, transient ones included (they are retried per record).
func storeFailure(ctx context.Context, table string, err error) (class sinks.StoreClass, fix string, ok bool) {
	var notFound *types.ResourceNotFoundException
	if errors.As(err, &notFound) {
		return sinks.ClassMissing, fmt.Sprintf("table %s does not exist: create it with `resingest db migrate` or fix --dynamo-table", table), true
	}
	class, ok = awsclient.Classify(ctx, err)
	switch {
	case !ok || class.Transient():
		return "", "", false
	case class == sinks.ClassPermission:
		fix = fmt.Sprintf("the worker's credentials may not write to table %s: fix its role or policy", table)
	case class == sinks.ClassKMS:
		fix = fmt.Sprintf("the KMS key of table %s is missing, disabled or not allowed", table)
	}
	return class, fix, true
}

// transient reports whether err may go away on its own: DynamoDB's
// throttling, internal-error and write-conflict exceptions, and every
// transport failure awsclient knows. Everything else, including validation
// errors and errors we do not know, is permanent.
func transient(ctx context.Context, err error) bool {
	var (
		throughput *types.ProvisionedThroughputExceededException
		throttle   *types.ThrottlingException
		reqLimit   *types.RequestLimitExceeded
		internal   *types.InternalServerError
		txConflict *types.TransactionConflictException
		replicated *types.ReplicatedWriteConflictException
	)
	switch {
	case errors.As(err, &throughput), errors.As(err, &throttle), errors.As(err, &reqLimit),
		errors.As(err, &internal), errors.As(err, &txConflict), errors.As(err, &replicated):
		return true
	}
	return awsclient.TransientTransport(ctx, err)
}

// storeName names DynamoDB in store errors, logs and metrics.
const storeName = "dynamo"
