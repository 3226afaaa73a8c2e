package migrate

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/sinks/dynamo"
)

// stingyWriter forwards to the real client but holds back the last
// requests of every other batch, returning them as unprocessed, as a
// throttled table does.
type stingyWriter struct {
	real  dynamo.BatchWriter
	calls atomic.Int64
	held  atomic.Int64
}

func (s *stingyWriter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	if s.calls.Add(1)%2 == 0 {
		return s.real.BatchWriteItem(ctx, in, opts...)
	}
	part := map[string][]types.WriteRequest{}
	held := map[string][]types.WriteRequest{}
	for table, reqs := range in.RequestItems {
		keep := len(reqs) / 2
		part[table], held[table] = reqs[:keep], reqs[keep:]
		s.held.Add(int64(len(reqs) - keep))
	}
	if len(part[firstKey(part)]) > 0 {
		out, err := s.real.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: part}, opts...)
		if err != nil {
			return nil, err
		}
		for table, reqs := range out.UnprocessedItems {
			held[table] = append(held[table], reqs...)
		}
	}
	return &dynamodb.BatchWriteItemOutput{UnprocessedItems: held}, nil
}

func TestDynamoUnprocessedRetried(t *testing.T) {
	t.Parallel()
	db, _ := testDB(t)
	ct := newClientTable(t)
	paths := genExtract(t, 1500, 1, false)
	sw := &stingyWriter{real: ct.client}
	m := New(db, Options{Workers: 1, ChunkRows: 500, Dynamo: sw, DynamoTable: ct.table})
	m.dyn.Backoff.Initial, m.dyn.Backoff.Max = time.Millisecond, 5*time.Millisecond
	if _, err := m.Run(testContext(t), paths); err != nil {
		t.Fatal(err)
	}
	if sw.held.Load() == 0 {
		t.Fatal("no item was held back; the test proves nothing")
	}
	want := countRows(t, db, `SELECT count(*) FROM reservations`)
	if got := len(dumpDynamo(t, ct.client, ct.table)); got != want {
		t.Errorf("%d items after unprocessed retries, want %d", got, want)
	}
}

func TestDynamoWCUCap(t *testing.T) {
	t.Parallel()
	db, _ := testDB(t)
	ct := newClientTable(t)
	paths := genExtract(t, 300, 1, false) // about 280 distinct keys
	start := time.Now()
	if _, err := New(db, Options{Workers: 1, Dynamo: ct.client, DynamoTable: ct.table, DynamoWCU: 100}).Run(testContext(t), paths); err != nil {
		t.Fatal(err)
	}
	items := len(dumpDynamo(t, ct.client, ct.table))
	// A burst of 100, then 100 a second.
	if min := time.Duration(items-100) * 10 * time.Millisecond; time.Since(start) < min*9/10 {
		t.Errorf("%d items written in %v, faster than 100 WCU allows (%v)", items, time.Since(start), min)
	}
}

func firstKey(m map[string][]types.WriteRequest) string {
	for k := range m {
		return k
	}
	return ""
}
