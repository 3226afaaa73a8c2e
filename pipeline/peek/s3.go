package peek

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/resingest/resingest/sinks/archive"
)

// S3API is the part of the S3 client S3 uses.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// S3 hands every message under bucket/prefix to fn, in key order: each
// *.xml object is one message (named by its key), each archive object
// (*.jsonl.gz, as sinks/archive writes them) holds many (named key#line).
// Archive objects sealed client-side are opened with sealer; nil refuses
// them with archive.ErrSealed.
func S3(ctx context.Context, client S3API, bucket, prefix string, maxBytes int, sealer archive.Sealer, fn Handler) error {
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("peek: list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			isXML, isArchive := strings.HasSuffix(key, ".xml"), strings.HasSuffix(key, ".jsonl.gz")
			if !isXML && !isArchive {
				continue
			}
			obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				return fmt.Errorf("peek: get s3://%s/%s: %w", bucket, key, err)
			}
			limit := int64(maxBytes) + 1
			if isArchive {
				limit = 1 << 40 // an archive object holds many messages
			}
			body, err := io.ReadAll(io.LimitReader(obj.Body, limit))
			obj.Body.Close()
			if err != nil {
				return fmt.Errorf("peek: read s3://%s/%s: %w", bucket, key, err)
			}
			if isXML {
				fn(key, body)
				continue
			}
			body, err = archive.OpenObject(ctx, sealer, key, body)
			var entries []archive.Entry
			if err == nil {
				entries, err = archive.Decode(bytes.NewReader(body))
			}
			if err != nil {
				return fmt.Errorf("peek: s3://%s/%s: %w", bucket, key, err)
			}
			for i, e := range entries {
				fn(key+"#"+strconv.Itoa(i+1), []byte(e.XML))
			}
		}
	}
	return nil
}
