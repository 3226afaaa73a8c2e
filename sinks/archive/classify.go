package archive

import (
	"context"
	"errors"

	"github.com/aws/smithy-go"
	"github.com/resingest/resingest/internal/awsclient"
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

// transient reports whether err may go away on its own: S3's throttling
// and server-fault codes, and every transport failure awsclient knows.
// Everything else, including access and validation errors and errors we do
// not know, is permanent.
func transient(ctx context.Context, err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) && transientCodes[api.ErrorCode()] {
		return true
	}
	return awsclient.TransientTransport(ctx, err)
}
