package pipeline

import (
	"bytes"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resingest/resingest/parse"
)

// kafkaFetchMaxBytes bounds one fetch response (franz-go's default is 50
// MiB; the client buffers one fetch per broker while a batch is processed).
// 16 MiB still holds thousands of ordinary messages.
const kafkaFetchMaxBytes = 16 << 20

// fetchMaxBytes is the fetch bound for messages of at most maxBytes: room
// for at least two of them.
func fetchMaxBytes(maxBytes int) int32 {
	if maxBytes <= 0 {
		maxBytes = parse.DefaultMaxBytes
	}
	return int32(min(max(kafkaFetchMaxBytes, 2*maxBytes), 1<<30))
}

// fetchMaxPartitionBytes is the per-partition fetch bound: one message of
// maxBytes, and no less than franz-go's default 1 MiB. A record batch
// larger than it is still returned alone, so an oversized record never
// blocks its partition.
func fetchMaxPartitionBytes(maxBytes int) int32 {
	return int32(min(max(maxBytes, 1<<20), 1<<30))
}

// cutOversizedRecords replaces the value of every record over maxBytes by
// a copy of its first bytes (CutOversized) and returns, per record, the
// whole size of a cut record (0 for the others). Record values are windows
// on the fetch response, so when any record is cut every other value is
// copied too: then no window keeps the whole response, oversized records
// included, alive through the batch.
func cutOversizedRecords(records []*kgo.Record, maxBytes int) []int {
	if maxBytes <= 0 {
		maxBytes = parse.DefaultMaxBytes
	}
	sizes := make([]int, len(records))
	cut := false
	for i, r := range records {
		if len(r.Value) > maxBytes {
			r.Value, sizes[i] = CutOversized(r.Value, len(r.Value), maxBytes)
			cut = true
		}
	}
	if !cut {
		return sizes
	}
	for i, r := range records {
		if sizes[i] == 0 {
			r.Value = bytes.Clone(r.Value)
		}
		r.Key = bytes.Clone(r.Key)
		r.Headers = nil // unused; may hold windows too
	}
	return sizes
}
