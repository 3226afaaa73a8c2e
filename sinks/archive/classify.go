package archive

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/resingest/resingest/internal/awsclient"
	"github.com/resingest/resingest/sinks"
)

// storeName names the archive in store errors, logs and metrics.
const storeName = "archive"

// missingBucketCodes say the bucket itself is gone.
var missingBucketCodes = map[string]bool{"NoSuchBucket": true}

// classify says whether err, from a request on bucket, is a failure of
// the archive as a whole, and which: a missing bucket, refused
// credentials, a KMS key, throttling, a server fault or an unreachable
// endpoint (awsclient.Classify). ok is false for everything else (errors
// we do not know are permanent and the record's).
func classify(ctx context.Context, bucket string, err error) (class sinks.StoreClass, fix string, ok bool) {
	var api smithy.APIError
	var noBucket *types.NoSuchBucket
	if errors.As(err, &noBucket) || errors.As(err, &api) && missingBucketCodes[api.ErrorCode()] {
		return sinks.ClassMissing, fmt.Sprintf("bucket %s does not exist: create it or fix --archive-bucket", bucket), true
	}
	class, ok = awsclient.Classify(ctx, err)
	switch class {
	case sinks.ClassPermission:
		fix = fmt.Sprintf("the worker's credentials may not write to bucket %s: fix its role or policy", bucket)
	case sinks.ClassKMS:
		fix = "the bucket's KMS key is missing, disabled or not allowed: fix --archive-kms-key-id or the key policy"
	}
	return class, fix, ok
}
