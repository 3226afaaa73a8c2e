package lambdahandler_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/lambdahandler"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// faultySink is the real DynamoDB sink with one injected fault: while
// armed, every Write whose batch holds the reservation conf fails as a
// whole with err, like an outage that hits that record's batch. Real
// stores cannot be made to fail for one chosen record on demand.
type faultySink struct {
	inner pipeline.Sink
	conf  string
	err   error
	armed atomic.Bool
}

func (s *faultySink) Write(ctx context.Context, recs []sinks.Record) ([]sinks.Result, error) {
	if s.armed.Load() {
		for _, r := range recs {
			if r.Reservation.Confirmation == s.conf {
				return nil, s.err
			}
		}
	}
	return s.inner.Write(ctx, recs)
}

// rig is one test's handler on its own Postgres database and DynamoDB
// table, with the DynamoDB sink behind a faultySink.
type rig struct {
	stores *e2e.Stores
	fault  *faultySink
	h      *lambdahandler.Handler
	opens  atomic.Int32
	closes atomic.Int32
	proc   *pipeline.Processor
}

func newRig(t *testing.T, opts lambdahandler.Options) *rig {
	t.Helper()
	r := &rig{stores: e2e.Env(t)}
	pg := r.stores.Postgres(t)
	r.fault = &faultySink{inner: r.stores.Dynamo(t)}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r.h = lambdahandler.New(func(context.Context) (lambdahandler.Processor, func(), error) {
		r.opens.Add(1)
		parser, err := parse.New(parse.Options{})
		if err != nil {
			return nil, nil, err
		}
		proc, err := pipeline.NewProcessor(pipeline.Config{
			Parser: parser, Ledger: pg, Logger: opts.Logger,
			Stores:  []pipeline.NamedSink{{Name: "postgres", Sink: pg}, {Name: "dynamo", Sink: r.fault}},
			Backoff: sinks.Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond},
		})
		if err != nil {
			return nil, nil, err
		}
		r.proc = proc
		return proc, func() { r.closes.Add(1) }, nil
	}, opts)
	t.Cleanup(r.h.Close)
	return r
}

// expected is what the stores must hold after the good records of recs
// are stored: per reservation, its newest version.
func expected(t *testing.T, recs []events.KinesisEventRecord) map[reservation.Key]reservation.Reservation {
	t.Helper()
	p, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[reservation.Key]reservation.Reservation{}
	versions := map[reservation.Key]reservation.Version{}
	for _, r := range recs {
		res, err := p.Parse(r.Kinesis.Data)
		if err != nil {
			continue // poison
		}
		for _, x := range res {
			v, err := reservation.VersionOf(&x, r.Kinesis.SequenceNumber)
			if err != nil {
				t.Fatal(err)
			}
			if old, ok := versions[x.Key()]; !ok || v.Compare(old) > 0 {
				versions[x.Key()], want[x.Key()] = v, x
			}
		}
	}
	return want
}

// confirmation is the reservation number of a good record.
func confirmation(t *testing.T, r events.KinesisEventRecord) string {
	t.Helper()
	p, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Parse(r.Kinesis.Data)
	if err != nil || len(res) == 0 {
		t.Fatalf("record %s is not a good message: %v", r.Kinesis.SequenceNumber, err)
	}
	return res[0].Confirmation
}

func failures(resp events.KinesisEventResponse) []string {
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// seqs are the sequence numbers of recs.
func seqs(recs []events.KinesisEventRecord) []string {
	var s []string
	for _, r := range recs {
		s = append(s, r.Kinesis.SequenceNumber)
	}
	return s
}

// assertAudit checks that the audit trail holds exactly one row per
// sequence number of want: the records acknowledged so far.
func assertAudit(t *testing.T, s *e2e.Stores, want []string) {
	t.Helper()
	var got []string
	for _, a := range s.AuditRows(t) {
		if a.Source != lambdahandler.Source || !strings.HasPrefix(a.Partition, "shardId-") {
			t.Errorf("audit row %d: source %q partition %q, want kinesis and a shard id", a.ID, a.Source, a.Partition)
		}
		got = append(got, a.Position)
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("audit holds positions\n%v\nwant\n%v", got, want)
	}
}

// assertDeadLetters checks that the poison record, and only it, is
// dead-lettered, once, without its card number.
func assertDeadLetters(t *testing.T, s *e2e.Stores, poisonSeq string) {
	t.Helper()
	letters := s.DeadLetters(t)
	if len(letters) != 1 || letters[0].Position != poisonSeq {
		t.Fatalf("%d dead letters, want exactly the poison record %s", len(letters), poisonSeq)
	}
	if strings.Contains(string(letters[0].Message), fixtureCard) {
		t.Errorf("the dead letter holds the full card number")
	}
	if !strings.HasPrefix(letters[0].Reason, parse.ErrMalformed.Error()) {
		t.Errorf("dead letter reason %q, want it to start with %q", letters[0].Reason, parse.ErrMalformed)
	}
}

// TestHandleSinkFailure feeds the fixture event (a poison record at index
// 2) with the DynamoDB sink failing for the record at index failAt, and
// checks that the response names the first record not acknowledged, that
// the stores hold exactly the acknowledged records, and that Lambda's
// retry of the tail, then a full redelivery, converge on every good record
// stored once.
func TestHandleSinkFailure(t *testing.T) {
	t.Parallel()
	const failAt = 5
	tests := []struct {
		name string
		// err is the injected sink error.
		err error
		// timeout bounds the first invocation (0: none).
		timeout, margin time.Duration
		// shards: records at odd indexes go to a second shard.
		twoShards bool
		// wantFirst is the index of the record the response names; the
		// records before it (of its shard) are acknowledged.
		wantFirst int
		// wantAcked are the indexes acknowledged by the first invocation.
		wantAcked []int
	}{
		{
			// The sub-batch [3 4 5] fails; 3 and 4 are then stored one by
			// one and 5 is reported.
			name: "permanent error", err: errors.New("AccessDeniedException: not authorized"),
			wantFirst: failAt, wantAcked: []int{0, 1, 2, 3, 4},
		},
		{
			// Retried until the deadline margin: no time is left to find
			// the record at fault, so the whole sub-batch is reported.
			name: "transient error until the deadline", err: sinks.Retryable(errors.New("connection reset")),
			timeout: 4 * time.Second, margin: 1500 * time.Millisecond,
			wantFirst: 3, wantAcked: []int{0, 1, 2},
		},
		{
			// The second shard (odd indexes) stops at 5; the first shard
			// is not held back.
			name: "two shards", err: errors.New("ValidationException"), twoShards: true,
			wantFirst: failAt, wantAcked: []int{0, 1, 2, 3, 4, 6, 8},
		},
		{
			name: "deadline already within the margin", err: errors.New("unused"),
			timeout: 300 * time.Millisecond, margin: time.Second,
			wantFirst: 0, wantAcked: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := loadFixture(t)
			if tt.twoShards {
				for i := 1; i < len(ev.Records); i += 2 {
					ev.Records[i].EventID = "shardId-000000000001:" + ev.Records[i].Kinesis.SequenceNumber
				}
			}
			r := newRig(t, lambdahandler.Options{BatchSize: 3, DeadlineMargin: tt.margin})
			r.fault.conf, r.fault.err = confirmation(t, ev.Records[failAt]), tt.err
			r.fault.armed.Store(true)

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if tt.timeout > 0 {
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			resp, err := r.h.Handle(ctx, ev)
			if err != nil {
				t.Fatalf("Handle: %v (a sink failure must be a partial batch response)", err)
			}
			if dl, ok := ctx.Deadline(); tt.timeout > 0 && ok && time.Now().After(dl) {
				t.Errorf("Handle returned after the invocation deadline")
			}
			wantSeq := ev.Records[tt.wantFirst].Kinesis.SequenceNumber
			if got := failures(resp); !slices.Equal(got, []string{wantSeq}) {
				t.Fatalf("batchItemFailures %v, want [%s] (record %d)", got, wantSeq, tt.wantFirst)
			}
			var acked []events.KinesisEventRecord
			for _, i := range tt.wantAcked {
				acked = append(acked, ev.Records[i])
			}
			assertAudit(t, r.stores, seqs(acked))
			// DynamoDB is exact; Postgres may also hold records of the
			// failed sub-batch, written before DynamoDB failed (harmless:
			// the retry's writes are version-guarded).
			e2e.AssertDynamo(t, r.stores, expected(t, acked))
			if slices.Contains(tt.wantAcked, fixturePoison) {
				assertDeadLetters(t, r.stores, ev.Records[fixturePoison].Kinesis.SequenceNumber)
			}

			// Lambda retries from the reported record on, the outage over.
			r.fault.armed.Store(false)
			tail := events.KinesisEvent{}
			for i, rec := range ev.Records {
				if shardOf(rec) == shardOf(ev.Records[tt.wantFirst]) && i >= tt.wantFirst {
					tail.Records = append(tail.Records, rec)
				}
			}
			resp, err = r.h.Handle(context.Background(), tail)
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("retry of the tail: failures %v, err %v; want none", failures(resp), err)
			}
			// A full redelivery (e.g. after a bisected retry) changes nothing.
			resp, err = r.h.Handle(context.Background(), ev)
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("redelivery: failures %v, err %v; want none", failures(resp), err)
			}
			e2e.AssertStores(t, r.stores, expected(t, ev.Records))
			assertAudit(t, r.stores, seqs(ev.Records))
			assertDeadLetters(t, r.stores, ev.Records[fixturePoison].Kinesis.SequenceNumber)
			if n := r.opens.Load(); n != 1 {
				t.Errorf("stores opened %d times over three invocations, want once", n)
			}
		})
	}
}

func shardOf(r events.KinesisEventRecord) string {
	id, _, _ := strings.Cut(r.EventID, ":")
	return id
}

// TestHandleReusesPools checks that invocations share one Processor and
// one Postgres pool: the second invocation opens no store and no new
// database connection, and Close releases them once.
func TestHandleReusesPools(t *testing.T) {
	t.Parallel()
	ev := loadFixture(t)
	r := newRig(t, lambdahandler.Options{})
	pool := r.stores.Postgres(t).Pool()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if err := r.h.Open(ctx); err != nil {
		t.Fatal(err)
	}
	first := r.proc
	if _, err := r.h.Handle(ctx, events.KinesisEvent{Records: ev.Records[:5]}); err != nil {
		t.Fatal(err)
	}
	conns := pool.Stat().NewConnsCount()
	acquires := pool.Stat().AcquireCount()
	if pool.Stat().TotalConns() == 0 {
		t.Fatalf("no open Postgres connection after an invocation: the pool is not kept warm")
	}
	resp, err := r.h.Handle(ctx, events.KinesisEvent{Records: ev.Records[5:]})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("second invocation: failures %v, err %v", failures(resp), err)
	}
	if r.opens.Load() != 1 || r.proc != first {
		t.Errorf("opened %d times (processor replaced: %v), want one Processor for both invocations", r.opens.Load(), r.proc != first)
	}
	if got := pool.Stat().NewConnsCount(); got != conns {
		t.Errorf("the second invocation opened %d new Postgres connections, want 0", got-conns)
	}
	if pool.Stat().AcquireCount() <= acquires {
		t.Errorf("the second invocation did not use the pool")
	}
	assertAudit(t, r.stores, seqs(ev.Records))

	r.h.Close()
	r.h.Close()
	if n := r.closes.Load(); n != 1 {
		t.Errorf("Close twice released the stores %d times, want 1", n)
	}
	if _, err := r.h.Handle(ctx, ev); !errors.Is(err, lambdahandler.ErrClosed) {
		t.Errorf("Handle after Close: %v, want ErrClosed", err)
	}
	if r.opens.Load() != 1 {
		t.Errorf("Handle after Close reopened the stores")
	}
}

// TestHandleFunctionErrors checks the cases where nothing can be judged:
// they are function errors (Lambda retries the whole batch), and nothing
// is written.
func TestHandleFunctionErrors(t *testing.T) {
	t.Parallel()
	errOpen := errors.New("dial tcp: connection refused")
	tests := []struct {
		name    string
		mutate  func(*events.KinesisEvent)
		openErr error
		want    error
	}{
		{name: "stores cannot be opened", mutate: func(*events.KinesisEvent) {}, openErr: errOpen, want: errOpen},
		{name: "record without sequence number", mutate: func(ev *events.KinesisEvent) { ev.Records[3].Kinesis.SequenceNumber = "" }, want: lambdahandler.ErrBadEvent},
		{name: "record without event id", mutate: func(ev *events.KinesisEvent) { ev.Records[0].EventID = "" }, want: lambdahandler.ErrBadEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := loadFixture(t)
			tt.mutate(&ev)
			var opens int
			var calls atomic.Int32
			h := lambdahandler.New(func(context.Context) (lambdahandler.Processor, func(), error) {
				opens++
				if tt.openErr != nil {
					return nil, nil, tt.openErr
				}
				return processorFunc(func(context.Context, []pipeline.Message) ([]pipeline.Outcome, error) {
					calls.Add(1)
					return nil, fmt.Errorf("must not be called")
				}), func() {}, nil
			}, lambdahandler.Options{Logger: slog.New(slog.DiscardHandler)})
			defer h.Close()
			for range 2 {
				_, err := h.Handle(context.Background(), ev)
				if !errors.Is(err, tt.want) {
					t.Fatalf("Handle: %v, want %v", err, tt.want)
				}
			}
			if calls.Load() != 0 {
				t.Errorf("the processor was called %d times", calls.Load())
			}
			if tt.openErr != nil && opens != 2 {
				t.Errorf("a failed open was tried %d times over two invocations, want 2 (retried, not cached)", opens)
			}
		})
	}
}

// processorFunc adapts a function to lambdahandler.Processor.
type processorFunc func(context.Context, []pipeline.Message) ([]pipeline.Outcome, error)

func (f processorFunc) Process(ctx context.Context, msgs []pipeline.Message) ([]pipeline.Outcome, error) {
	return f(ctx, msgs)
}
