package awsclient

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/resingest/resingest/internal/storeerr"
)

// accessCodes are AWS error codes, common to the services, that refuse the
// caller's credentials or permissions whatever the request.
var accessCodes = map[string]bool{
	"AccessDenied":                        true,
	"AccessDeniedException":               true,
	"AllAccessDisabled":                   true,
	"AccountProblem":                      true,
	"ExpiredToken":                        true,
	"ExpiredTokenException":               true,
	"InvalidAccessKeyId":                  true,
	"InvalidClientTokenId":                true,
	"InvalidSignatureException":           true,
	"InvalidToken":                        true,
	"MissingAuthenticationTokenException": true,
	"SignatureDoesNotMatch":               true,
	"UnrecognizedClientException":         true,
	"Forbidden":                           true, // a 403 without a body (HEAD requests)
}

// throttleCodes ask the caller to slow down.
var throttleCodes = map[string]bool{
	"SlowDown":                               true,
	"Throttling":                             true,
	"ThrottlingException":                    true,
	"ThrottledException":                     true,
	"RequestLimitExceeded":                   true,
	"RequestThrottled":                       true,
	"RequestThrottledException":              true,
	"TooManyRequestsException":               true,
	"ProvisionedThroughputExceededException": true,
	"LimitExceededException":                 true,
}

// serverCodes are failures on the service's side.
var serverCodes = map[string]bool{
	"InternalError":            true,
	"InternalFailure":          true,
	"InternalServerError":      true,
	"ServiceUnavailable":       true,
	"RequestTimeout":           true,
	"KMSInternalException":     true,
	"OperationAborted":         true,
	"KMS.KMSInternalException": true,
}

// kmsCodes are KMS key failures, as KMS itself and the services that use
// it for server-side encryption (S3 prefixes them with "KMS.") report them.
var kmsCodes = map[string]bool{
	"DisabledException":           true,
	"KeyUnavailableException":     true,
	"InvalidKeyUsageException":    true,
	"IncorrectKeyException":       true,
	"KMSAccessDeniedException":    true,
	"KMSDisabledException":        true,
	"KMSInvalidStateException":    true,
	"KMSNotFoundException":        true,
	"KMSOptInRequired":            true,
	"KMSThrottlingException":      true,
	"KMSInvalidKeyUsageException": true,
}

// Classify says which store failure err is, by the AWS error code or the
// transport failure: refused credentials (Permission), KMS key failures
// (KMS), throttling (Throttled), a server fault, timeout or lost connection
// (Unavailable). ok is false for errors that are none of these (a
// validation error, a service-specific code the caller classifies, an
// unknown error). ctx is the caller's: a deadline or cancellation of the
// caller itself is not the store's failure.
func Classify(ctx context.Context, err error) (class storeerr.Class, ok bool) {
	if err == nil {
		return "", false
	}
	if se, found := storeerr.As(err); found {
		return se.Class, true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		switch {
		case accessCodes[code]:
			return storeerr.Permission, true
		case throttleCodes[code], code == "KMS.ThrottlingException":
			return storeerr.Throttled, true
		case serverCodes[code]:
			return storeerr.Unavailable, true
		case kmsCodes[code], strings.HasPrefix(code, "KMS."):
			return storeerr.KMS, true
		}
	}
	if TransientTransport(ctx, err) {
		return storeerr.Unavailable, true
	}
	return "", false
}
