package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/resingest/resingest/pii"
)

// ErrNotFound is wrapped by Read when the object does not exist.
var ErrNotFound = errors.New("archive: object not found")

// Read fetches the object at key and returns its entries in the order they
// were written. It is safe for concurrent use, also with Write.
func (s *Sink) Read(ctx context.Context, key string) ([]Entry, error) {
	// Read it all first so that a lost connection is not taken for a
	// corrupt object; archive objects are small (one batch of one hotel).
	body, err := s.get(ctx, key, -1)
	if err != nil {
		return nil, err
	}
	if body, err = OpenObject(ctx, s.opts.Sealer, key, body); err != nil {
		return nil, fmt.Errorf("archive: read s3://%s/%s: %w", s.opts.Bucket, key, err)
	}
	entries, err := Decode(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("archive: read s3://%s/%s: %w", s.opts.Bucket, key, err)
	}
	return entries, nil
}

// ErrSealed is wrapped when an object is encrypted client-side and no
// Sealer was given to open it.
var ErrSealed = errors.New("the object is encrypted: configure --kek-file or --kms-key-id")

// OpenObject returns the gzip body of the archive object stored at key:
// body itself when it is not sealed, else body opened with sealer (nil:
// ErrSealed). Decode reads the result.
func OpenObject(ctx context.Context, sealer Sealer, key string, body []byte) ([]byte, error) {
	if !pii.IsSealedBlob(body) {
		return body, nil
	}
	if sealer == nil {
		return nil, ErrSealed
	}
	return sealer.OpenBlob(ctx, sealPurpose(key), body)
}

// get fetches the object at key whole (at most limit bytes when limit >= 0)
// within one attempt deadline (Options.AttemptTimeout), so a frozen or
// unreachable S3 fails the read instead of hanging it. It wraps ErrNotFound
// when there is no such object.
func (s *Sink) get(ctx context.Context, key string, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.AttemptTimeout)
	defer cancel()
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.opts.Bucket), Key: aws.String(key)})
	var noKey *types.NoSuchKey
	switch {
	case errors.As(err, &noKey):
		return nil, fmt.Errorf("archive: read s3://%s/%s: %w: %w", s.opts.Bucket, key, ErrNotFound, err)
	case err != nil:
		return nil, fmt.Errorf("archive: read s3://%s/%s: %w", s.opts.Bucket, key, err)
	}
	defer out.Body.Close()
	var r io.Reader = out.Body
	if limit >= 0 {
		r = io.LimitReader(r, limit)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("archive: read s3://%s/%s: %w", s.opts.Bucket, key, err)
	}
	return body, nil
}
