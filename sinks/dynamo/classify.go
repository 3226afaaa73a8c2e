package dynamo

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/resingest/resingest/sinks"
)

// transient reports whether err may go away on its own: throttling,
// server-side faults, and lost or timed-out connections. ctx is the
// caller's context: a deadline that hit only the attempt (not the caller)
// is transient too. Everything else, including validation errors and
// errors we do not know, is permanent.
func transient(ctx context.Context, err error) bool {
	var (
		throughput *types.ProvisionedThroughputExceededException
		throttle   *types.ThrottlingException
		reqLimit   *types.RequestLimitExceeded
		internal   *types.InternalServerError
		txConflict *types.TransactionConflictException
		replicated *types.ReplicatedWriteConflictException
		resp       *awshttp.ResponseError
		send       *smithyhttp.RequestSendError
		netErr     net.Error
	)
	switch {
	case errors.Is(err, sinks.ErrRetryable):
		return true
	case errors.As(err, &throughput), errors.As(err, &throttle), errors.As(err, &reqLimit),
		errors.As(err, &internal), errors.As(err, &txConflict), errors.As(err, &replicated):
		return true
	case errors.As(err, &resp) && (resp.HTTPStatusCode() >= 500 || resp.HTTPStatusCode() == 429):
		return true
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return ctx.Err() == nil // the attempt timed out, the caller still waits
	case errors.As(err, &send), errors.As(err, &netErr):
		return true
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	}
	return false
}
