package migrate

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Source is one file of an extract: a local file or an S3 object.
type Source struct {
	// Name identifies the file in the recorded progress and the rejects:
	// the absolute path, or s3://bucket/key#etag (a rewritten object is a
	// new file, loaded from its start; the version guard keeps that
	// correct).
	Name string
	// Size in bytes (compressed for .gz); a local file whose size changed
	// since its load began is refused.
	Size int64
	// Gzip tells whether the content is gzip-compressed (.gz).
	Gzip bool
	// Open returns the content from its start. Safe for concurrent use.
	Open func(ctx context.Context) (io.ReadCloser, error)
}

func isExtractName(n string) bool {
	return strings.HasSuffix(n, ".csv") || strings.HasSuffix(n, ".csv.gz")
}

// LocalSources returns the sources of local files.
func LocalSources(files []string) ([]Source, error) {
	out := make([]Source, len(files))
	for i, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		st, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		out[i] = Source{Name: abs, Size: st.Size(), Gzip: strings.HasSuffix(abs, ".gz"),
			Open: func(context.Context) (io.ReadCloser, error) { return os.Open(abs) }}
	}
	return out, nil
}

// S3API is the part of the S3 client S3Sources uses.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// S3Sources lists the extract files (*.csv, *.csv.gz) under u, sorted by
// key. Each is read at the ETag it was listed with (If-Match): a rewritten
// object fails the read instead of mixing two versions in one load.
func S3Sources(ctx context.Context, client S3API, u S3URL) ([]Source, error) {
	var out []Source
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(u.Bucket), Prefix: aws.String(u.Prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("migrate: list s3://%s/%s: %w", u.Bucket, u.Prefix, err)
		}
		for _, o := range page.Contents {
			key, etag := aws.ToString(o.Key), aws.ToString(o.ETag)
			if !isExtractName(key) {
				continue
			}
			out = append(out, Source{
				Name: fmt.Sprintf("s3://%s/%s#%s", u.Bucket, key, strings.Trim(etag, `"`)),
				Size: aws.ToInt64(o.Size), Gzip: strings.HasSuffix(key, ".gz"),
				Open: func(ctx context.Context) (io.ReadCloser, error) {
					obj, err := client.GetObject(ctx, &s3.GetObjectInput{
						Bucket: aws.String(u.Bucket), Key: aws.String(key), IfMatch: aws.String(etag),
					})
					if err != nil {
						return nil, fmt.Errorf("get s3://%s/%s: %w", u.Bucket, key, err)
					}
					return obj.Body, nil
				},
			})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w under s3://%s/%s (want *.csv or *.csv.gz)", ErrNoInput, u.Bucket, u.Prefix)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
