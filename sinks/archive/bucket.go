package archive

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// lifecycleRuleID names the rule EnsureBucket installs.
const lifecycleRuleID = "resingest-archive-to-glacier"

// EnsureBucket creates the bucket when it does not exist and installs the
// Glacier lifecycle rule (unless Options.GlacierAfterDays is negative). It
// is idempotent and safe to call from several processes at once. A server
// that does not implement lifecycle configuration (the local test server)
// is tolerated; every other error is returned.
//
// The lifecycle put replaces the bucket's whole lifecycle configuration:
// give the archive its own bucket, or a negative GlacierAfterDays.
func (s *Sink) EnsureBucket(ctx context.Context) error {
	if err := s.createBucket(ctx); err != nil {
		return err
	}
	if s.opts.GlacierAfterDays < 0 {
		return nil
	}
	filter := &types.LifecycleRuleFilter{Prefix: aws.String("")}
	if s.opts.Prefix != "" {
		filter.Prefix = aws.String(s.opts.Prefix + "/")
	}
	_, err := s.api.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
		Bucket: aws.String(s.opts.Bucket),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{
			ID:     aws.String(lifecycleRuleID),
			Status: types.ExpirationStatusEnabled,
			Filter: filter,
			Transitions: []types.Transition{{
				Days:         aws.Int32(int32(s.opts.GlacierAfterDays)),
				StorageClass: types.TransitionStorageClassGlacier,
			}},
		}}},
	})
	switch {
	case err == nil:
		return nil
	case lifecycleUnsupported(err):
		s.opts.Logger.Warn("archive: the S3 server does not support lifecycle rules; objects will not move to Glacier",
			"bucket", s.opts.Bucket)
		return nil
	default:
		return fmt.Errorf("archive: put lifecycle rule on bucket %s: %w", s.opts.Bucket, err)
	}
}

// createBucket makes the bucket unless it exists and is ours.
func (s *Sink) createBucket(ctx context.Context) error {
	exists, err := s.bucketExists(ctx)
	if err != nil || exists {
		return err
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(s.opts.Bucket)}
	// Outside us-east-1, S3 wants the region restated in the request.
	if c, ok := s.api.(interface{ Options() s3.Options }); ok {
		if region := c.Options().Region; region != "" && region != "us-east-1" { // us-east-1 takes no constraint
			in.CreateBucketConfiguration = &types.CreateBucketConfiguration{
				LocationConstraint: types.BucketLocationConstraint(region),
			}
		}
	}
	_, err = s.api.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	var taken *types.BucketAlreadyExists
	switch {
	case err == nil, errors.As(err, &owned):
		return nil
	case errors.As(err, &taken):
		// Someone created it since HeadBucket: a concurrent EnsureBucket
		// (fine) or another account (HeadBucket now says forbidden).
		if exists, herr := s.bucketExists(ctx); herr == nil && exists {
			return nil
		}
		return fmt.Errorf("archive: bucket %s belongs to someone else: %w", s.opts.Bucket, err)
	default:
		return fmt.Errorf("archive: create bucket %s: %w", s.opts.Bucket, err)
	}
}

// bucketExists reports whether the bucket exists and we can use it.
func (s *Sink) bucketExists(ctx context.Context) (bool, error) {
	_, err := s.api.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.opts.Bucket)})
	var notFound *types.NotFound
	var noBucket *types.NoSuchBucket
	var resp *awshttp.ResponseError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &notFound), errors.As(err, &noBucket),
		errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusNotFound:
		return false, nil
	default:
		return false, fmt.Errorf("archive: head bucket %s: %w", s.opts.Bucket, err)
	}
}

// lifecycleUnsupported reports whether a lifecycle put failed because the
// server does not implement it. S3 itself never does that; gofakes3 (the
// local server) routes PUT /bucket?lifecycle to bucket creation and so
// answers BucketAlreadyExists, which S3 never answers to a lifecycle put.
func lifecycleUnsupported(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode() {
	case "NotImplemented", "BucketAlreadyExists":
		return true
	}
	return false
}
