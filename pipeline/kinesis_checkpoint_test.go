package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/sinks"
)

// failingAfter passes the first ok writes to a fake sink and fails every
// later one for good (not retryable): a sink that breaks mid-stream.
type failingAfter struct {
	mu    sync.Mutex
	ok    int
	inner *fakeSink
}

func (f *failingAfter) Write(ctx context.Context, recs []sinks.Record) ([]sinks.Result, error) {
	f.mu.Lock()
	if f.ok == 0 {
		f.mu.Unlock()
		return nil, errBoom
	}
	f.ok--
	f.mu.Unlock()
	return f.inner.Write(ctx, recs)
}

// TestKinesisCheckpointNeverPastUnstored breaks a sink in the middle of a
// shard: the worker stops with an error, the checkpoint is the last record
// of the last acknowledged batch (every record up to it audited, none
// after), and a second worker resumes right after it and loses nothing.
func TestKinesisCheckpointNeverPastUnstored(t *testing.T) {
	t.Parallel()
	s := newTestStream(t, 1)
	const n, batchSize, okBatches = 50, 10, 2
	entries := make([]types.PutRecordsRequestEntry, n)
	for i := range entries {
		conf := fmt.Sprintf("CK%04d", i)
		entries[i] = types.PutRecordsRequestEntry{Data: unitMessage(i%60, conf), PartitionKey: aws.String(conf)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := s.Client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(s.Name), Records: entries})
	if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
		t.Fatalf("put: %v", err)
	}
	seqs := make([]string, n)
	for i, r := range out.Records {
		seqs[i] = aws.ToString(r.SequenceNumber)
	}
	shard := aws.ToString(out.Records[0].ShardId)

	ledger := newFakeLedger()
	pg, dyn := newFakeSink(), newFakeSink()
	proc, _ := unitProcessor(t, ledger, nil, pg, dyn)
	cfg := s.config("w1")
	cfg.BatchSize = batchSize
	// The same stores, with postgres failing after okBatches writes.
	brokenProc := brokenProcessor(t, ledger, &failingAfter{ok: okBatches, inner: pg}, dyn)
	err = pipeline.RunKinesis(ctx, cfg, brokenProc, pipeline.RunOptions{Logger: testLogger(t), ExitWhenIdle: 5 * time.Second})
	var unacked *pipeline.UnackedError
	if !errors.As(err, &unacked) || unacked.Messages != batchSize || !errors.Is(err, errBoom) {
		t.Fatalf("worker error %v, want an UnackedError of a batch of %d caused by the sink", err, batchSize)
	}
	t.Logf("worker stopped: %v", err)
	cp := s.leases(t)[shard].Checkpoint
	if want := seqs[okBatches*batchSize-1]; cp != want {
		t.Fatalf("checkpoint %s after the failure, want the last record of the last stored batch %s", cp, want)
	}
	for i, seq := range seqs {
		audited := ledgerHas(ledger, shard, seq)
		if stored := !seqLess(cp, seq); audited != stored {
			t.Errorf("record %d (%s): audited %v, at or before the checkpoint %v", i, seq, audited, stored)
		}
	}

	// A healthy worker resumes after the checkpoint.
	var counts outcomeCounter
	if err := pipeline.RunKinesis(ctx, s.config("w2"), proc, pipeline.RunOptions{
		Logger: testLogger(t), ExitWhenIdle: 2 * time.Second, OnBatch: counts.add,
	}); err != nil {
		t.Fatal(err)
	}
	if got := counts.get(); got != n-okBatches*batchSize {
		t.Errorf("the second worker processed %d messages, want the %d after the checkpoint", got, n-okBatches*batchSize)
	}
	if ledger.auditCount() != n {
		t.Errorf("%d messages audited, want %d", ledger.auditCount(), n)
	}
	if cp := s.leases(t)[shard].Checkpoint; cp != seqs[n-1] {
		t.Errorf("final checkpoint %s, want %s", cp, seqs[n-1])
	}
}

// brokenProcessor wires a Processor whose postgres store is pg.
func brokenProcessor(t testing.TB, ledger pipeline.Ledger, pg pipeline.Sink, dyn *fakeSink) *pipeline.Processor {
	t.Helper()
	parser, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	proc, err := pipeline.NewProcessor(pipeline.Config{
		Parser: parser, Ledger: ledger,
		Stores:  []pipeline.NamedSink{{Name: "postgres", Sink: pg}, {Name: "dynamo", Sink: dyn}},
		Logger:  testLogger(t),
		Backoff: sinks.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	return proc
}

func ledgerHas(l *fakeLedger, partition, position string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.audit[ledgerKey("kinesis", partition, position)]
	return ok
}
