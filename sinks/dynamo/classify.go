package dynamo

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/resingest/resingest/internal/awsclient"
)

// ErrStoreUnavailable is wrapped by Write's error when DynamoDB refused the
// store itself (no such table, credentials refused or not allowed): no
// record is at fault, so none is failed for good (which would dead-letter
// every message); the batch fails instead and the worker stops with the
// reason.
var ErrStoreUnavailable = errors.New("dynamo: store unavailable")

// storeErrorCodes are DynamoDB's error codes for requests refused whatever
// the record (the SDK has no typed errors for the access ones).
var storeErrorCodes = map[string]bool{
	"AccessDeniedException":               true,
	"UnrecognizedClientException":         true,
	"InvalidSignatureException":           true,
	"MissingAuthenticationTokenException": true,
	"ExpiredTokenException":               true,
}

// storeLevel reports whether err refuses the store rather than a record.
func storeLevel(err error) bool {
	var notFound *types.ResourceNotFoundException
	if errors.As(err, &notFound) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && storeErrorCodes[api.ErrorCode()]
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
