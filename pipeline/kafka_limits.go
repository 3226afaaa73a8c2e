package pipeline

import (
	"bytes"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resingest/resingest/parse"
)

// kafkaFetchMaxBytes bounds one fetch response (franz-go's default is 50
// MiB; the client buffers one fetch per broker while a batch is processed).
// It counts compressed bytes: a snappy-compressed fetch of XML holds
// several times as much once decompressed (a well-compressing storm of 5
// MB messages in a 16 MiB fetch decompressed to 125 MB), so it is kept
// small. 4 MiB still holds thousands of ordinary messages. A record batch
// larger than it is still returned, alone, so nothing is ever stuck.
const kafkaFetchMaxBytes = 4 << 20

// kafkaFetchMaxPartitionBytes bounds one partition's share of a fetch
// (franz-go's default); the same rule lets a larger batch through.
const kafkaFetchMaxPartitionBytes = 1 << 20

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
