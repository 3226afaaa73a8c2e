package dynamo

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/resingest/resingest/internal/awsclient"
)

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
