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

	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/sinks/archive"
)

// MessageSource is the source name of messages read by S3Messages.
const MessageSource = "backfill-s3"

// S3Messages reads the XML messages under u in key order and hands them
// to fn in batches of up to batch: each *.xml object is one message, each
// archive object (*.jsonl.gz, written by sinks/archive) holds many. A
// message's position is a hash of its object key (and its line in an
// archive object), stable across runs, so the processor's audit trail
// recognises a message applied before and a re-run applies nothing twice.
//
// Archive objects sealed client-side (the archive sink with a keyring)
// are opened with sealer; nil refuses them with archive.ErrSealed.
func S3Messages(ctx context.Context, client S3API, u S3URL, batch, maxBytes int, sealer archive.Sealer, fn func([]pipeline.Message) error) error {
	if batch <= 0 {
		batch = 500
	}
	partition := "s3://" + u.Bucket + "/" + u.Prefix
	var msgs []pipeline.Message
	flush := func() error {
		if len(msgs) == 0 {
			return nil
		}
		err := fn(msgs)
		msgs = nil
		return err
	}
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(u.Bucket), Prefix: aws.String(u.Prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("migrate: list %s: %w", partition, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			isXML, isArchive := strings.HasSuffix(key, ".xml"), strings.HasSuffix(key, ".jsonl.gz")
			if !isXML && !isArchive {
				continue
			}
			obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(key)})
			if err != nil {
				return fmt.Errorf("migrate: get s3://%s/%s: %w", u.Bucket, key, err)
			}
			now := time.Now()
			if isXML {
				value, err := io.ReadAll(io.LimitReader(obj.Body, int64(maxBytes)+1))
				obj.Body.Close()
				if err != nil {
					return fmt.Errorf("migrate: read s3://%s/%s: %w", u.Bucket, key, err)
				}
				// A message over maxBytes is passed on cut to its first
				// bytes, with its size: the pipeline dead-letters it as too
				// large, as the stream does.
				size := len(value)
				if obj.ContentLength != nil && *obj.ContentLength > int64(size) {
					size = int(*obj.ContentLength)
				}
				value, whole := pipeline.CutOversized(value, size, maxBytes)
				msgs = append(msgs, pipeline.Message{Value: value, Size: whole, Source: MessageSource, Partition: partition,
					Position: messagePosition(key), ReceivedAt: now})
			} else {
				body, err := io.ReadAll(obj.Body)
				obj.Body.Close()
				if err == nil {
					body, err = archive.OpenObject(ctx, sealer, key, body)
				}
				var entries []archive.Entry
				if err == nil {
					entries, err = archive.Decode(bytes.NewReader(body))
				}
				if err != nil {
					return fmt.Errorf("migrate: s3://%s/%s: %w", u.Bucket, key, err)
				}
				for i, e := range entries {
					at := now
					if t, err := time.Parse(time.RFC3339Nano, e.ReceivedAt); err == nil {
						at = t
					}
					msgs = append(msgs, pipeline.Message{Value: []byte(e.XML), Source: MessageSource, Partition: partition,
						Position: messagePosition(key + "#" + strconv.Itoa(i)), ReceivedAt: at})
				}
			}
			for len(msgs) >= batch {
				rest := append([]pipeline.Message(nil), msgs[batch:]...)
				msgs = msgs[:batch]
				if err := flush(); err != nil {
					return err
				}
				msgs = rest
			}
		}
	}
	return flush()
}

// messagePosition is a 64-bit FNV-1a hash of name, in decimal (a
// position must be a decimal number).
func messagePosition(name string) string {
	h := fnv.New64a()
	h.Write([]byte(name))
	return strconv.FormatUint(h.Sum64(), 10)
}
