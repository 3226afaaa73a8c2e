package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// DirDest stores import files in a local directory (created if missing).
type DirDest struct{ Dir string }

// Put writes a temporary file and renames it: never half a file.
func (d DirDest) Put(_ context.Context, name string, data []byte) error {
	if err := os.MkdirAll(d.Dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(d.Dir, ".import-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(f.Name()) }() // no-op after the rename
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(d.Dir, name))
}

// Names lists the directory's files.
func (d DirDest) Names(context.Context) ([]string, error) {
	entries, err := os.ReadDir(d.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Delete removes a file.
func (d DirDest) Delete(_ context.Context, name string) error {
	return os.Remove(filepath.Join(d.Dir, name))
}

// S3URL is a parsed s3://bucket/prefix.
type S3URL struct{ Bucket, Prefix string }

// ErrNotS3URL is returned by ParseS3URL for anything but s3://bucket[/prefix].
var ErrNotS3URL = errors.New("migrate: not an s3://bucket/prefix URL")

// ParseS3URL parses s3://bucket[/prefix]. A non-empty prefix is returned
// with a trailing slash.
func ParseS3URL(s string) (S3URL, error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return S3URL{}, fmt.Errorf("%w: %q", ErrNotS3URL, s)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return S3URL{}, fmt.Errorf("%w: %q has no bucket", ErrNotS3URL, s)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return S3URL{Bucket: bucket, Prefix: prefix}, nil
}

// IsS3URL reports whether s names an S3 location.
func IsS3URL(s string) bool { return strings.HasPrefix(s, "s3://") }

// S3Dest stores import files under an S3 prefix: the prefix to give
// DynamoDB's ImportTable. Safe for concurrent use.
type S3Dest struct {
	Client *s3.Client
	URL    S3URL
}

// Put uploads one object (an S3 PUT is atomic).
func (d S3Dest) Put(ctx context.Context, name string, data []byte) error {
	_, err := d.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(d.URL.Bucket), Key: aws.String(d.URL.Prefix + name),
		Body: bytes.NewReader(data), ContentType: aws.String("application/gzip"),
	})
	return err
}

// Names lists the objects directly under the prefix.
func (d S3Dest) Names(ctx context.Context) ([]string, error) {
	var out []string
	p := s3.NewListObjectsV2Paginator(d.Client, &s3.ListObjectsV2Input{
		Bucket: aws.String(d.URL.Bucket), Prefix: aws.String(d.URL.Prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			name := strings.TrimPrefix(aws.ToString(o.Key), d.URL.Prefix)
			if !strings.Contains(name, "/") {
				out = append(out, name)
			}
		}
	}
	return out, nil
}

// Delete removes one object.
func (d S3Dest) Delete(ctx context.Context, name string) error {
	_, err := d.Client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(d.URL.Bucket), Key: aws.String(d.URL.Prefix + name),
	})
	return err
}
