package kinesisput

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/resingest/resingest/internal/awsclient"
	"github.com/resingest/resingest/sinks"
)

// MaxEntries and MaxBytes are the limits of one PutRecords request: 500
// entries and 5 MB (a record itself is at most 1 MB).
const (
	MaxEntries = 500
	MaxBytes   = 5 << 20
)

// API is the part of the Kinesis client Put uses (*kinesis.Client).
type API interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// Put sends entries in requests of up to 500 entries and 5 MB,
// keeping the order of the entries of each partition key: a request holds
// at most one entry per key and is fully accepted before the next one
// goes, so an entry the service refused (throttled, internal failure) is
// sent again, alone, after a backoff, before any later entry of its key.
// The accepted entries are never sent twice. It gives up when ctx ends or
// on an error that is not transient, a per-entry one included
// (*RefusedError); what was accepted until then stays in the stream.
func Put(ctx context.Context, api API, stream string, entries []types.PutRecordsRequestEntry, backoff sinks.Backoff) error {
	for pending := entries; len(pending) > 0; {
		var req, rest []types.PutRecordsRequestEntry
		// busy: keys in this request, or with an earlier entry left for a
		// later one; their next entries must wait too.
		busy := make(map[string]bool)
		size := 0
		for _, e := range pending {
			key := aws.ToString(e.PartitionKey)
			n := len(e.Data) + len(key)
			if busy[key] || len(req) == MaxEntries || size+n > MaxBytes {
				if len(req) == 0 {
					return fmt.Errorf("kinesis: a record of %d bytes is larger than a PutRecords request", n)
				}
				busy[key] = true
				rest = append(rest, e)
				continue
			}
			busy[key] = true
			size += n
			req = append(req, e)
		}
		if err := putBatch(ctx, api, stream, req, backoff); err != nil {
			return err
		}
		pending = rest
	}
	return nil
}

// RefusedError reports entries the service refused for a reason that is
// not transient (e.g. a KMS key it may not use); they were not put.
type RefusedError struct {
	Stream  string
	Code    string // the per-entry ErrorCode
	Records int
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("kinesis: %d records refused by %s: %s", e.Records, e.Stream, e.Code)
}

// transientEntryError reports the per-entry error codes worth a retry.
func transientEntryError(code string) bool {
	switch code {
	case "ProvisionedThroughputExceededException", "InternalFailure", "KMSThrottlingException":
		return true
	}
	return false
}

// putBatch sends one request's entries until all are accepted.
func putBatch(ctx context.Context, api API, stream string, pending []types.PutRecordsRequestEntry, backoff sinks.Backoff) error {
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			if err := backoff.Wait(ctx, attempt-1); err != nil {
				return fmt.Errorf("kinesis: %d records not put: %w", len(pending), err)
			}
		}
		out, err := api.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: pending})
		if err != nil {
			var pt *types.ProvisionedThroughputExceededException
			if errors.As(err, &pt) || awsclient.TransientTransport(ctx, err) {
				continue
			}
			return fmt.Errorf("kinesis: put records to %s: %w", stream, err)
		}
		if aws.ToInt32(out.FailedRecordCount) == 0 {
			return nil
		}
		var again []types.PutRecordsRequestEntry
		var refused *RefusedError
		for i, r := range out.Records {
			switch code := aws.ToString(r.ErrorCode); {
			case code == "":
			case transientEntryError(code):
				again = append(again, pending[i])
			case refused == nil:
				refused = &RefusedError{Stream: stream, Code: code, Records: 1}
			default:
				refused.Records++
			}
		}
		if refused != nil {
			return refused
		}
		slog.Warn("kinesis refused records for now, retrying them", "records", len(again), "attempt", attempt+1)
		pending = again
	}
	return nil
}
