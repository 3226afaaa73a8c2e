package pii

import (
	"context"
	"errors"
	"net"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/resingest/resingest/internal/storeerr"
)

// kmsStore names KMS in store errors, logs and metrics.
const kmsStore = "kms"

// kmsTransientCodes are KMS error codes that may go away by themselves.
var kmsTransientCodes = map[string]storeerr.Class{
	"ThrottlingException":        storeerr.Throttled,
	"LimitExceededException":     storeerr.Throttled,
	"KMSInternalException":       storeerr.Unavailable,
	"DependencyTimeoutException": storeerr.Unavailable,
}

// kmsAccessCodes refuse the caller's credentials.
var kmsAccessCodes = map[string]bool{
	"AccessDeniedException":       true,
	"UnrecognizedClientException": true,
	"ExpiredTokenException":       true,
	"InvalidSignatureException":   true,
}

// kmsError marks an error of a KMS call with key keyID as the failure of a
// store (never of a record): a throttled or unreachable KMS is transient,
// refused credentials are a permission failure, anything else the key's
// (missing, disabled, pending deletion, wrong key for the ciphertext). A
// caller's own cancellation stays as it is.
func kmsError(ctx context.Context, keyID string, err error) error {
	if ctx.Err() != nil {
		return err
	}
	var api smithy.APIError
	var send *smithyhttp.RequestSendError
	var netErr net.Error
	switch {
	case errors.As(err, &api) && kmsTransientCodes[api.ErrorCode()] != "":
		return storeerr.New(kmsStore, kmsTransientCodes[api.ErrorCode()], "", err)
	case errors.As(err, &api) && kmsAccessCodes[api.ErrorCode()]:
		return storeerr.New(kmsStore, storeerr.Permission, "the worker's credentials may not use KMS key "+keyID+": fix its role or the key policy", err)
	case errors.As(err, &api):
		return storeerr.New(kmsStore, storeerr.KMS, "KMS key "+keyID+" is missing, disabled or not the key the data keys were wrapped with: fix --kms-key-id or the key", err)
	case errors.As(err, &send), errors.As(err, &netErr), errors.Is(err, context.DeadlineExceeded):
		return storeerr.New(kmsStore, storeerr.Unavailable, "", err)
	}
	return err
}
