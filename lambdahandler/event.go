package lambdahandler

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/resingest/resingest/pipeline"
)

// Source is the pipeline.Message source of every record.
const Source = "kinesis"

// ErrBadEvent means the event cannot be processed at all: a record without
// a sequence number can be neither written (it keys the audit row) nor
// named in a partial batch response.
var ErrBadEvent = errors.New("lambdahandler: malformed Kinesis event")

// shard is the messages of one shard, in the event's (= sequence) order.
type shard struct {
	id   string
	msgs []pipeline.Message
}

// shardID is the shard part of an event ID ("shardId-000000000000:<seq>").
// Event IDs without a colon are used whole: the ID still groups the shard's
// records, which is all the partition is used for besides the audit.
func shardID(eventID string) string {
	id, _, _ := strings.Cut(eventID, ":")
	return id
}

// groupByShard converts the records to messages, grouped by shard in order
// of first appearance, each group in event order.
func groupByShard(recs []events.KinesisEventRecord, now time.Time) ([]shard, error) {
	var shards []shard
	index := map[string]int{}
	for i := range recs {
		r := &recs[i]
		seq := r.Kinesis.SequenceNumber
		if seq == "" {
			return nil, fmt.Errorf("%w: record %d has no sequence number", ErrBadEvent, i)
		}
		id := shardID(r.EventID)
		if id == "" {
			return nil, fmt.Errorf("%w: record %d (sequence number %s) has no eventID", ErrBadEvent, i, seq)
		}
		received := r.Kinesis.ApproximateArrivalTimestamp.Time
		if received.IsZero() {
			received = now
		}
		k, ok := index[id]
		if !ok {
			k = len(shards)
			index[id] = k
			shards = append(shards, shard{id: id})
		}
		shards[k].msgs = append(shards[k].msgs, pipeline.Message{
			Value: r.Kinesis.Data, Source: Source, Partition: id, Position: seq, ReceivedAt: received.UTC(),
		})
	}
	return shards, nil
}
