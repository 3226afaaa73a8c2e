package pipeline_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/pipeline/lease"
	"github.com/resingest/resingest/sinks"
)

// faultyKinesis passes every call through to the real (kinesalite) client
// and injects the faults kinesalite never produces: fault is asked before
// each GetRecords call with the shard and the 1-based number of the call
// on that shard; a non-nil error is answered instead of calling
// kinesalite. It records what the reader asked for. Safe for concurrent
// use (one reader goroutine per shard).
type faultyKinesis struct {
	real  *kinesis.Client
	fault func(shard string, call int) error

	mu        sync.Mutex
	shardOf   map[string]string                          // iterator -> shard
	calls     map[string][]time.Time                     // GetRecords calls by shard, faulted ones included
	faulted   map[string][]int                           // by shard: the numbers of the faulted calls
	iterators map[string][]kinesis.GetShardIteratorInput // GetShardIterator inputs by shard
	read      map[string][][]string                      // by shard: the sequence numbers each successful call returned
}

func newFaultyKinesis(real *kinesis.Client, fault func(shard string, call int) error) *faultyKinesis {
	return &faultyKinesis{real: real, fault: fault, shardOf: map[string]string{}, calls: map[string][]time.Time{},
		faulted: map[string][]int{}, iterators: map[string][]kinesis.GetShardIteratorInput{}, read: map[string][][]string{}}
}

func (f *faultyKinesis) ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	return f.real.ListShards(ctx, in, optFns...)
}

func (f *faultyKinesis) GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	out, err := f.real.GetShardIterator(ctx, in, optFns...)
	if err != nil {
		return nil, err
	}
	shard := aws.ToString(in.ShardId)
	f.mu.Lock()
	f.iterators[shard] = append(f.iterators[shard], *in)
	f.shardOf[aws.ToString(out.ShardIterator)] = shard
	f.mu.Unlock()
	return out, nil
}

func (f *faultyKinesis) GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	f.mu.Lock()
	shard, ok := f.shardOf[aws.ToString(in.ShardIterator)]
	f.calls[shard] = append(f.calls[shard], time.Now())
	n := len(f.calls[shard])
	f.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("faultyKinesis: GetRecords with an iterator this wrapper never handed out")
	}
	if err := f.fault(shard, n); err != nil {
		f.mu.Lock()
		f.faulted[shard] = append(f.faulted[shard], n)
		f.mu.Unlock()
		return nil, err
	}
	out, err := f.real.GetRecords(ctx, in, optFns...)
	if err != nil {
		return nil, err
	}
	seqs := make([]string, len(out.Records))
	for i, r := range out.Records {
		seqs[i] = aws.ToString(r.SequenceNumber)
	}
	f.mu.Lock()
	if out.NextShardIterator != nil {
		f.shardOf[*out.NextShardIterator] = shard
	}
	f.read[shard] = append(f.read[shard], seqs)
	f.mu.Unlock()
	return out, nil
}

// callTimes returns the times of the GetRecords calls on shard.
func (f *faultyKinesis) callTimes(shard string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls[shard])
}

// sdkError wraps a service exception as the SDK client returns it.
func sdkError(op string, err error) error {
	return &smithy.OperationError{ServiceID: "Kinesis", OperationName: op, Err: err}
}

func throughputExceeded() error {
	return sdkError("GetRecords", &types.ProvisionedThroughputExceededException{
		Message: aws.String("Rate exceeded for shard in stream under account."),
	})
}

func iteratorExpired() error {
	return sdkError("GetRecords", &types.ExpiredIteratorException{
		Message: aws.String("Iterator expired. The iterator was created at time ... while right now it is ..."),
	})
}

const (
	shard0 = "shardId-000000000000"
	shard1 = "shardId-000000000001"
)

// readShard reads a whole shard from kinesalite, in order.
func readShard(t testing.TB, s *testStream, shard string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it, err := s.Client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(s.Name),
		ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []string
	iter := it.ShardIterator
	for iter != nil {
		out, err := s.Client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Records) == 0 {
			return seqs
		}
		for _, r := range out.Records {
			seqs = append(seqs, aws.ToString(r.SequenceNumber))
		}
		iter = out.NextShardIterator
	}
	return seqs
}

// maxCallsIn returns the largest number of calls within any window of
// length d.
func maxCallsIn(calls []time.Time, d time.Duration) int {
	most := 0
	for i := range calls {
		n := 0
		for j := i; j < len(calls) && calls[j].Sub(calls[i]) < d; j++ {
			n++
		}
		most = max(most, n)
	}
	return most
}

// faultRun is one worker run over a fresh stream and fresh stores, with
// GetRecords going through a faultyKinesis.
type faultRun struct {
	env    *e2e.Stores
	corpus *e2e.Corpus
	stream *testStream
	last   map[string]string // shard -> sequence number of its last record
	fk     *faultyKinesis
	km     *pipeline.KinesisMetrics
	counts outcomeCounter
}

// runWithFaults puts a corpus of n messages on a stream of shards shards
// and runs one worker over it through fault until it is idle.
func runWithFaults(t *testing.T, shards, n int, seed uint64, backoff sinks.Backoff, fault func(r *faultRun, shard string, call int) error) *faultRun {
	t.Helper()
	r := &faultRun{env: e2e.Env(t)}
	r.corpus = e2e.WriteCorpus(t, t.TempDir(), n, seed, 2)
	r.stream = newTestStream(t, shards)
	r.last = r.stream.put(t, r.corpus.Files)
	r.fk = newFaultyKinesis(r.stream.Client, func(shard string, call int) error { return fault(r, shard, call) })
	proc, metrics := newProcessor(t, r.env)
	r.km = pipeline.NewKinesisMetrics(prometheus.NewRegistry())
	cfg := r.stream.config("faulty")
	cfg.Client = r.fk
	cfg.Metrics = r.km
	cfg.BatchSize = 5
	cfg.Backoff = backoff
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	start := time.Now()
	err := pipeline.RunKinesis(ctx, cfg, proc, pipeline.RunOptions{
		ExitWhenIdle: 2 * time.Second, Metrics: metrics, Logger: testLogger(t), OnBatch: r.counts.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d messages in %v", r.counts.get(), time.Since(start).Round(time.Millisecond))
	return r
}

// assertComplete checks that every record was stored and audited once,
// every shard is checkpointed at its last record and released, and no
// lease was lost on the way.
func (r *faultRun) assertComplete(t *testing.T) {
	t.Helper()
	if r.counts.get() != len(r.corpus.Files) {
		t.Errorf("acknowledged %d messages, want %d", r.counts.get(), len(r.corpus.Files))
	}
	e2e.AssertStores(t, r.env, r.corpus.Expected(t))
	e2e.AssertAudit(t, r.env, r.corpus)
	ls := r.stream.leases(t)
	for shard, seq := range r.last {
		if l := ls[shard]; l.Checkpoint != seq || l.Owner != "" {
			t.Errorf("lease %s: checkpoint %s owner %q; want %s, released", shard, l.Checkpoint, l.Owner, seq)
		}
	}
	if got := counterValue(t, r.km.LeaseEvents.WithLabelValues(lease.EventLost)); got != 0 {
		t.Errorf("%v leases lost during the run, want 0", got)
	}
	if got := counterValue(t, r.km.LeaseEvents.WithLabelValues(lease.EventGained)); int(got) != len(r.last) {
		t.Errorf("%v leases gained, want one per shard (%d): a lease changed hands", got, len(r.last))
	}
}

// TestKinesisFaultThrottle answers ProvisionedThroughputExceeded to a run
// of GetRecords calls on one shard, after its first batch: the reader
// backs off (capped, jittered, never a hot loop), keeps to the shard's 5
// calls per second, counts every throttle on that shard's metric, keeps
// its lease, and stores every record once.
func TestKinesisFaultThrottle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		throttles int
		backoff   sinks.Backoff
		// early and late are the gaps after the throttles of attempts
		// [0, early) and [late, throttles): the first bounded by the
		// limiter (their backoff caps are under 200ms), the second by the
		// backoff's cap.
		early, late int
	}{
		// Caps 50, 100, 200, 400, 800, then 1600ms five times.
		{name: "backoff grows to its cap", throttles: 10, backoff: sinks.Backoff{Initial: 50 * time.Millisecond, Max: 1600 * time.Millisecond}, early: 3, late: 5},
		// A backoff far under the call limit: the limiter alone paces.
		{name: "limiter paces a short backoff", throttles: 12, backoff: sinks.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}, early: 12, late: 12},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			first := 2 // the shard's first batch is read, then throttled
			r := runWithFaults(t, 2, 60, uint64(61+i), tt.backoff, func(_ *faultRun, shard string, call int) error {
				if shard == shard0 && call >= first && call < first+tt.throttles {
					return throughputExceeded()
				}
				return nil
			})
			r.assertComplete(t)
			if got := counterValue(t, r.km.Throttles.WithLabelValues(shard0)); int(got) != tt.throttles {
				t.Errorf("resingest_kinesis_throttles_total{shard=%q} = %v, want %d", shard0, got, tt.throttles)
			}
			if got := counterValue(t, r.km.Throttles.WithLabelValues(shard1)); got != 0 {
				t.Errorf("resingest_kinesis_throttles_total{shard=%q} = %v, want 0", shard1, got)
			}
			if got := counterValue(t, r.km.Retries.WithLabelValues(shard0)); int(got) != tt.throttles {
				t.Errorf("retries of %s = %v, want %d", shard0, got, tt.throttles)
			}
			calls := r.fk.callTimes(shard0)
			if len(calls) < first+tt.throttles+1 {
				t.Fatalf("%d GetRecords calls on %s, want at least %d", len(calls), shard0, first+tt.throttles+1)
			}
			// gaps[k] is the wait after the throttle of attempt k.
			var gaps []time.Duration
			for k := range tt.throttles {
				c := first - 1 + k // index of the throttled call
				gaps = append(gaps, calls[c+1].Sub(calls[c]))
			}
			t.Logf("waits after each throttle: %v", gaps)
			const slack = 300 * time.Millisecond // a call's latency on a loaded machine
			for k, g := range gaps {
				// The limiter spaces the calls' starts 200ms apart; the fake
				// records their arrival, which lags a start by the request's
				// transit (tens of ms on a loaded machine: 187ms was seen).
				if g < 150*time.Millisecond {
					t.Errorf("retry %d came %v after a throttle: faster than 5 calls/s", k, g)
				}
				if g > tt.backoff.Max+200*time.Millisecond+slack {
					t.Errorf("retry %d came %v after a throttle: more than the cap %v", k, g, tt.backoff.Max)
				}
			}
			for k, g := range gaps[:tt.early] {
				if limit := max(200*time.Millisecond, min(tt.backoff.Initial<<k, tt.backoff.Max)) + slack; g > limit {
					t.Errorf("early retry %d waited %v, more than its cap allows", k, g)
				}
			}
			if late := gaps[tt.late:]; len(late) > 0 {
				longest, shortest := slices.Max(late), slices.Min(late)
				// Each late wait is uniform in [0, 1600ms] (floored at the
				// limiter's 200ms): all of them under 400ms has odds 1/4^5.
				if longest < 400*time.Millisecond {
					t.Errorf("late waits %v never exceed 400ms: the backoff does not grow", late)
				}
				if longest-shortest < 20*time.Millisecond {
					t.Errorf("late waits %v are all alike: the backoff is not jittered", late)
				}
			}
			// The throttled calls go through the per-shard limiter too.
			if most := maxCallsIn(calls, 950*time.Millisecond); most > 5 {
				t.Errorf("%d GetRecords calls on %s within one second, want at most 5", most, shard0)
			}
		})
	}
}

// TestKinesisFaultExpiredIterator answers ExpiredIterator once: the reader
// opens a new iterator after its checkpoint (AFTER_SEQUENCE_NUMBER of the
// last stored record, or the start position before the first checkpoint)
// and goes on from the next record: nothing is lost or skipped, and every
// record is audited once.
func TestKinesisFaultExpiredIterator(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		call     int // the GetRecords call on the shard that is answered ExpiredIterator
		wantType types.ShardIteratorType
	}{
		{name: "mid shard", call: 4, wantType: types.ShardIteratorTypeAfterSequenceNumber},
		{name: "before the first checkpoint", call: 1, wantType: types.ShardIteratorTypeTrimHorizon},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var checkpointAtFault string // read on the reader's goroutine: no t.Fatal there
			var leaseErr error
			r := runWithFaults(t, 1, 40, uint64(71+i), sinks.Backoff{Initial: 20 * time.Millisecond, Max: 500 * time.Millisecond},
				func(r *faultRun, shard string, call int) error {
					if call != tt.call {
						return nil
					}
					l, err := r.stream.Leases.Get(context.Background(), shard)
					checkpointAtFault, leaseErr = l.Checkpoint, err
					return iteratorExpired()
				})
			if leaseErr != nil {
				t.Fatalf("reading the lease at the expiry: %v", leaseErr)
			}
			r.assertComplete(t)
			all := readShard(t, r.stream, shard0)
			r.fk.mu.Lock()
			iters := r.fk.iterators[shard0]
			reads := r.fk.read[shard0]
			faulted := r.fk.faulted[shard0]
			r.fk.mu.Unlock()
			if !slices.Equal(faulted, []int{tt.call}) {
				t.Fatalf("faulted calls %v, want [%d]", faulted, tt.call)
			}
			if len(iters) != 2 {
				t.Fatalf("%d GetShardIterator calls, want 2 (the start and one after the expiry)", len(iters))
			}
			reopen := iters[1]
			if reopen.ShardIteratorType != tt.wantType {
				t.Errorf("iterator reopened as %s, want %s", reopen.ShardIteratorType, tt.wantType)
			}
			// Before the fault the reader had read and checkpointed the
			// batches of calls 1..tt.call-1.
			var before []string
			for _, b := range reads[:tt.call-1] {
				before = append(before, b...)
			}
			if tt.wantType == types.ShardIteratorTypeAfterSequenceNumber {
				wantCP := before[len(before)-1]
				if checkpointAtFault != wantCP {
					t.Errorf("checkpoint at the expiry %s, want the last record read %s", checkpointAtFault, wantCP)
				}
				if got := aws.ToString(reopen.StartingSequenceNumber); got != checkpointAtFault {
					t.Errorf("iterator reopened after %s, want after the checkpoint %s", got, checkpointAtFault)
				}
			} else if checkpointAtFault != lease.TrimHorizon {
				t.Errorf("checkpoint at the expiry %q, want %q", checkpointAtFault, lease.TrimHorizon)
			}
			// Everything the reader got, in order, is the shard: nothing
			// skipped after the reopen, nothing twice.
			var got []string
			for _, b := range reads {
				got = append(got, b...)
			}
			if !slices.Equal(got, all) {
				t.Errorf("the reader read %d records (%d before the expiry), the shard holds %d: skipped or repeated records",
					len(got), len(before), len(all))
			}
		})
	}
}
