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
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.opts.Bucket), Key: aws.String(key)})
	var noKey *types.NoSuchKey
	switch {
	case errors.As(err, &noKey):
		return nil, fmt.Errorf("archive: read s3://%s/%s: %w: %w", s.opts.Bucket, key, ErrNotFound, err)
	case err != nil:
		return nil, fmt.Errorf("archive: read s3://%s/%s: %w", s.opts.Bucket, key, err)
	}
	defer out.Body.Close()
	// Read it all first so that a lost connection is not taken for a
	// corrupt object; archive objects are small (one batch of one hotel).
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("archive: read s3://%s/%s: %w", s.opts.Bucket, key, err)
	}
	if s.opts.Sealer != nil {
		if body, err = s.opts.Sealer.OpenBlob(ctx, sealPurpose(key), body); err != nil {
			return nil, fmt.Errorf("archive: read s3://%s/%s: %w", s.opts.Bucket, key, err)
		}
	} else if pii.IsSealedBlob(body) {
		return nil, fmt.Errorf("archive: read s3://%s/%s: the object is encrypted: configure --kek-file or --kms-key-id", s.opts.Bucket, key)
	}
	entries, err := Decode(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("archive: read s3://%s/%s: %w", s.opts.Bucket, key, err)
	}
	return entries, nil
}
