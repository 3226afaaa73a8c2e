package archive

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/resingest/resingest/sinks"
)

// transientCodes are S3 error codes that mean "try again later".
var transientCodes = map[string]bool{
	"SlowDown":             true,
	"Throttling":           true,
	"ThrottlingException":  true,
	"RequestLimitExceeded": true,
	"RequestTimeout":       true, // the connection idled while uploading
	"InternalError":        true,
	"ServiceUnavailable":   true,
	"OperationAborted":     true, // a conflicting operation on the bucket
}

// transient reports whether err may go away on its own: throttling,
// server-side faults, and lost or timed-out connections. ctx is the
// caller's context: a deadline that hit only the attempt (not the caller)
// is transient too. Everything else, including access and validation
// errors and errors we do not know, is permanent.
func transient(ctx context.Context, err error) bool {
	var (
		api    smithy.APIError
		resp   *awshttp.ResponseError
		send   *smithyhttp.RequestSendError
		netErr net.Error
	)
	switch {
	case errors.Is(err, sinks.ErrRetryable):
		return true
	case errors.As(err, &api) && transientCodes[api.ErrorCode()]:
		return true
	case errors.As(err, &resp) && (resp.HTTPStatusCode() >= 500 || resp.HTTPStatusCode() == http.StatusTooManyRequests):
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
