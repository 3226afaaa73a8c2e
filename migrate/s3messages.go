package migrate

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/sinks/archive"
)

// MessageSource is the source name of messages read by S3Source.
const MessageSource = "backfill-s3"

// S3Source is a pipeline.Source over the XML messages under an S3 prefix,
// in key order, in batches of up to batch: each *.xml object is one
// message, each archive object (*.jsonl.gz, written by sinks/archive)
// holds many. A message's position is a hash of its object key (and its
// line in an archive object), stable across runs, so the processor's audit
// trail recognises a message applied before and a re-run applies nothing
// twice; the source keeps no position of its own (Ack is nil). Not safe for
// concurrent use.
type S3Source struct {
	client    S3API
	u         S3URL
	batch     int
	maxBytes  int
	sealer    archive.Sealer
	partition string
	pager     *s3.ListObjectsV2Paginator
	objects   []types.Object // the rest of the listed page
	pending   []pipeline.Message
	listed    bool // every page was listed
}

// NewS3Source reads the objects under u. batch <= 0 means 500. Archive
// objects sealed client-side (the archive sink with a keyring) are opened
// with sealer; nil refuses them with archive.ErrSealed.
func NewS3Source(client S3API, u S3URL, batch, maxBytes int, sealer archive.Sealer) *S3Source {
	if batch <= 0 {
		batch = 500
	}
	return &S3Source{
		client: client, u: u, batch: batch, maxBytes: maxBytes, sealer: sealer,
		partition: "s3://" + u.Bucket + "/" + u.Prefix,
		pager:     s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(u.Bucket), Prefix: aws.String(u.Prefix)}),
	}
}

// Next reads objects until it holds a batch, or the prefix is read to its
// end; io.EOF then.
func (s *S3Source) Next(ctx context.Context) (pipeline.Batch, error) {
	for len(s.pending) < s.batch && !s.listed {
		if len(s.objects) == 0 {
			if !s.pager.HasMorePages() {
				s.listed = true
				break
			}
			page, err := s.pager.NextPage(ctx)
			if err != nil {
				return pipeline.Batch{}, fmt.Errorf("migrate: list %s: %w", s.partition, err)
			}
			s.objects = page.Contents
			continue
		}
		key := aws.ToString(s.objects[0].Key)
		s.objects = s.objects[1:]
		msgs, err := s.read(ctx, key)
		if err != nil {
			return pipeline.Batch{}, err
		}
		s.pending = append(s.pending, msgs...)
	}
	if len(s.pending) == 0 {
		return pipeline.Batch{}, io.EOF
	}
	n := min(s.batch, len(s.pending))
	b := pipeline.Batch{Messages: s.pending[:n:n], Name: fmt.Sprintf("%d messages of %s", n, s.partition)}
	s.pending = s.pending[n:]
	return b, nil
}

// read returns the messages of one object: none for a key that is neither
// *.xml nor an archive object.
func (s *S3Source) read(ctx context.Context, key string) ([]pipeline.Message, error) {
	isXML, isArchive := strings.HasSuffix(key, ".xml"), strings.HasSuffix(key, ".jsonl.gz")
	if !isXML && !isArchive {
		return nil, nil
	}
	obj, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.u.Bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("migrate: get s3://%s/%s: %w", s.u.Bucket, key, err)
	}
	defer obj.Body.Close()
	now := time.Now()
	if isXML {
		value, err := io.ReadAll(io.LimitReader(obj.Body, int64(s.maxBytes)+1))
		if err != nil {
			return nil, fmt.Errorf("migrate: read s3://%s/%s: %w", s.u.Bucket, key, err)
		}
		// A message over maxBytes is passed on cut to its first bytes,
		// with its size: the pipeline dead-letters it as too large, as the
		// stream does.
		size := len(value)
		if obj.ContentLength != nil && *obj.ContentLength > int64(size) {
			size = int(*obj.ContentLength)
		}
		value, whole := pipeline.CutOversized(value, size, s.maxBytes)
		return []pipeline.Message{{Value: value, Size: whole, Source: MessageSource, Partition: s.partition,
			Position: messagePosition(key), ReceivedAt: now}}, nil
	}
	body, err := io.ReadAll(obj.Body)
	if err == nil {
		body, err = archive.OpenObject(ctx, s.sealer, key, body)
	}
	var entries []archive.Entry
	if err == nil {
		entries, err = archive.Decode(bytes.NewReader(body))
	}
	if err != nil {
		return nil, fmt.Errorf("migrate: s3://%s/%s: %w", s.u.Bucket, key, err)
	}
	msgs := make([]pipeline.Message, 0, len(entries))
	for i, e := range entries {
		at := now
		if t, err := time.Parse(time.RFC3339Nano, e.ReceivedAt); err == nil {
			at = t
		}
		msgs = append(msgs, pipeline.Message{Value: []byte(e.XML), Source: MessageSource, Partition: s.partition,
			Position: messagePosition(key + "#" + strconv.Itoa(i)), ReceivedAt: at})
	}
	return msgs, nil
}

// messagePosition is a 64-bit FNV-1a hash of name, in decimal (a
// position must be a decimal number).
func messagePosition(name string) string {
	h := fnv.New64a()
	h.Write([]byte(name))
	return strconv.FormatUint(h.Sum64(), 10)
}
