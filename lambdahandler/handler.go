package lambdahandler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/resingest/resingest/pipeline"
)

// Processor writes a batch of messages to every sink (*pipeline.Processor).
// An error means none of the batch may be considered acknowledged.
type Processor interface {
	Process(ctx context.Context, msgs []pipeline.Message) ([]pipeline.Outcome, error)
}

// Opener builds the Processor and whatever it keeps open (connection
// pools). closeFn releases them; it is called once, by Handler.Close.
type Opener func(ctx context.Context) (proc Processor, closeFn func(), err error)

// ErrClosed is returned by invocations after Close.
var ErrClosed = errors.New("lambdahandler: handler closed")

// Defaults of Options.
const (
	DefaultBatchSize      = 100
	DefaultDeadlineMargin = 2 * time.Second
)

// Options tune a Handler. Zero values take the defaults.
type Options struct {
	// BatchSize is the most records per Process call. Smaller sub-batches
	// lose less work when one fails; larger ones write faster.
	BatchSize int
	// DeadlineMargin is the time kept free before the invocation's
	// deadline: no write starts, and writes in flight are cancelled, once
	// only this much is left, so the response (naming what was not
	// stored) reaches Lambda before it times the invocation out.
	DeadlineMargin time.Duration
	// PendingTTL, when positive, makes invocations dead-letter (as
	// unresolved) the records held for key resolution longer than it, as
	// a `consume` worker's sweeper does: at most once per
	// PendingSweepInterval (default DefaultPendingSweepInterval) per
	// execution environment, after the invocation's records, while time
	// is left. Zero: the function never sweeps (a worker must).
	PendingTTL           time.Duration
	PendingSweepInterval time.Duration
	// PartitionUpkeepInterval, when positive, makes invocations create
	// the month partitions of audit, dead_letters and pii_access from the
	// current month to PartitionsAhead months later (those missing), when
	// the Processor can (PartitionKeeper): at the first invocation of an
	// execution environment and then at most once per interval, after the
	// invocation's records, while time is left. A function that is the
	// only consumer of its stream needs it: rows of a month without its
	// partition land in the default partition, which retention cannot
	// drop. Zero: never (a worker or 'resingest db partitions' must).
	PartitionUpkeepInterval time.Duration
	PartitionsAhead         int
	Logger                  *slog.Logger
}

// DefaultPendingSweepInterval is how often an execution environment sweeps
// held records when Options.PendingTTL is set.
const DefaultPendingSweepInterval = time.Minute

// pendingSweepLimit bounds the held records one invocation dead-letters,
// so a backlog is worked off over several invocations, not in one.
const pendingSweepLimit = 100

// PendingSweeper is the optional ability of a Processor to dead-letter the
// records held for key resolution since before now-ttl
// (*pipeline.Processor).
type PendingSweeper interface {
	SweepPending(ctx context.Context, ttl time.Duration, now time.Time, limit int) (int, error)
}

// PartitionKeeper is the optional ability of a Processor to create the
// month partitions of the tables that grow with traffic from now's month
// to ahead months later, returning the names it created
// (postgres.Sink.EnsurePartitions).
type PartitionKeeper interface {
	EnsurePartitions(ctx context.Context, now time.Time, ahead int) ([]string, error)
}

// Handler is the Lambda function for a Kinesis event source mapping. It is
// safe for concurrent use, although Lambda invokes one execution
// environment sequentially.
type Handler struct {
	open Opener
	opts Options
	log  *slog.Logger

	mu        sync.Mutex
	proc      Processor
	closeFn   func()
	closed    bool
	lastSweep time.Time // guarded by mu
	upkept    time.Time // last partition upkeep, guarded by mu
}

// New returns a Handler that opens its Processor with open, once, at Open
// or at the first invocation.
func New(open Opener, opts Options) *Handler {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.DeadlineMargin <= 0 {
		opts.DeadlineMargin = DefaultDeadlineMargin
	}
	if opts.PendingSweepInterval <= 0 {
		opts.PendingSweepInterval = DefaultPendingSweepInterval
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Handler{open: open, opts: opts, log: log}
}

// Open opens the Processor unless it is open already. Call it during the
// cold start (before lambda.Start) so the first invocation finds the pools
// connected; if it fails, the next invocation tries again.
func (h *Handler) Open(ctx context.Context) error {
	_, err := h.processor(ctx)
	return err
}

func (h *Handler) processor(ctx context.Context) (Processor, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, ErrClosed
	case h.proc != nil:
		return h.proc, nil
	}
	proc, closeFn, err := h.open(ctx)
	if err != nil {
		return nil, fmt.Errorf("lambdahandler: open the stores: %w", err)
	}
	h.proc, h.closeFn = proc, closeFn
	return proc, nil
}

// Close releases the Processor's pools. It may be called more than once
// and concurrently; invocations after it fail with ErrClosed.
func (h *Handler) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	if h.closeFn != nil {
		h.closeFn()
	}
	h.proc, h.closeFn = nil, nil
}

// Handle processes one invocation. Per shard it writes the records in
// order and stops at the first one that cannot be acknowledged (a sink
// failed or the deadline is near); the response names that record's
// sequence number, so Lambda retries it and everything after it. A record
// that is dead-lettered counts as handled. The error is non-nil only when
// nothing could be judged: a malformed event or stores that cannot be
// opened.
func (h *Handler) Handle(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
	start := time.Now()
	resp := events.KinesisEventResponse{BatchItemFailures: []events.KinesisBatchItemFailure{}}
	log := h.log
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With("request_id", lc.AwsRequestID)
	}
	shards, err := groupByShard(ev.Records, start)
	if err != nil {
		return resp, err
	}
	proc, err := h.processor(ctx)
	if err != nil {
		return resp, err
	}
	work, cancel := h.workContext(ctx)
	defer cancel()
	var tally tally
	for _, sh := range shards {
		// Shards are independent: one shard's failure does not hold the
		// others back, but they share the deadline.
		if seq := h.processShard(work, log, proc, sh, &tally); seq != "" {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: seq})
		}
	}
	h.sweepPending(work, log, proc)
	h.keepPartitions(work, log, proc)
	log.Info("invocation done", "records", len(ev.Records), "shards", len(shards),
		"stored", tally.n[pipeline.OutcomeStored], "duplicate", tally.n[pipeline.OutcomeDuplicate],
		"stale", tally.n[pipeline.OutcomeStale], "dead_lettered", tally.n[pipeline.OutcomeDeadLettered],
		"not_acknowledged", len(ev.Records)-tally.total, "failed_shards", len(resp.BatchItemFailures),
		"duration_ms", time.Since(start).Milliseconds())
	return resp, nil
}

// sweepPending dead-letters expired held records when Options.PendingTTL
// is set, the processor can, the interval has passed and work has time
// left. A failure is logged, not returned: the invocation's records are
// settled already, and the next sweep tries again.
func (h *Handler) sweepPending(work context.Context, log *slog.Logger, proc Processor) {
	sw, ok := proc.(PendingSweeper)
	if !ok || h.opts.PendingTTL <= 0 || work.Err() != nil {
		return
	}
	now := time.Now()
	h.mu.Lock()
	due := now.Sub(h.lastSweep) >= h.opts.PendingSweepInterval
	if due {
		h.lastSweep = now
	}
	h.mu.Unlock()
	if !due {
		return
	}
	n, err := sw.SweepPending(work, h.opts.PendingTTL, now, pendingSweepLimit)
	if err != nil {
		log.Warn("sweeping held records failed; the next invocation tries again", "err", err)
		return
	}
	if n > 0 {
		log.Info("held records dead-lettered as unresolved", "records", n, "pending_ttl", h.opts.PendingTTL)
	}
}

// keepPartitions creates the month partitions ahead (Options.
// PartitionUpkeepInterval) when the processor can, the interval has passed
// and work has time left. A failure is logged, not returned: rows never
// wait for a partition, and the next invocation tries again.
func (h *Handler) keepPartitions(work context.Context, log *slog.Logger, proc Processor) {
	pk, ok := proc.(PartitionKeeper)
	if !ok || h.opts.PartitionUpkeepInterval <= 0 || work.Err() != nil {
		return
	}
	now := time.Now()
	h.mu.Lock()
	due := h.upkept.IsZero() || now.Sub(h.upkept) >= h.opts.PartitionUpkeepInterval
	if due {
		h.upkept = now
	}
	h.mu.Unlock()
	if !due {
		return
	}
	created, err := pk.EnsurePartitions(work, now, h.opts.PartitionsAhead)
	if len(created) > 0 {
		log.Info("postgres: partitions created", "partitions", strings.Join(created, ","))
	}
	if err != nil {
		log.Warn("partition upkeep failed; the next invocation after the interval tries again", "err", err)
		h.mu.Lock()
		// Again after a minute (or the interval, if shorter), not at once:
		// a refusal (no CREATE privilege) would otherwise cost every
		// invocation a round trip and a log line.
		h.upkept = now.Add(min(time.Minute, h.opts.PartitionUpkeepInterval) - h.opts.PartitionUpkeepInterval)
		h.mu.Unlock()
	}
}

// workContext ends DeadlineMargin before the invocation's deadline.
func (h *Handler) workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-h.opts.DeadlineMargin))
	}
	return context.WithCancel(ctx)
}

// processShard writes sh's messages in order, BatchSize at a time, and
// returns the sequence number of the first one not acknowledged ("" when
// all are).
func (h *Handler) processShard(ctx context.Context, log *slog.Logger, proc Processor, sh shard, tally *tally) string {
	msgs := sh.msgs
	for start := 0; start < len(msgs); {
		if ctx.Err() != nil {
			log.Warn("deadline near, leaving the rest to a retry", "shard", sh.id, "first_sequence", msgs[start].Position, "records", len(msgs)-start)
			return msgs[start].Position
		}
		end := min(start+h.opts.BatchSize, len(msgs))
		outs, err := proc.Process(ctx, msgs[start:end])
		if err == nil {
			tally.add(outs)
			start = end
			continue
		}
		log.Warn("sub-batch not acknowledged", "shard", sh.id, "first_sequence", msgs[start].Position,
			"records", end-start, "err", err)
		if end-start == 1 || ctx.Err() != nil {
			return msgs[start].Position
		}
		// Find the record at fault one at a time, so the ones before it
		// are acknowledged and not redelivered.
		for i := start; i < end; i++ {
			if ctx.Err() != nil {
				return msgs[i].Position
			}
			outs, err := proc.Process(ctx, msgs[i:i+1])
			if err != nil {
				log.Warn("record not acknowledged", "shard", sh.id, "sequence", msgs[i].Position, "err", err)
				return msgs[i].Position
			}
			tally.add(outs)
		}
		// Every record went through alone: the failure was transient.
		start = end
	}
	return ""
}

// tally counts the outcomes of an invocation for its summary log line.
type tally struct {
	n     map[pipeline.Outcome]int
	total int
}

func (t *tally) add(outs []pipeline.Outcome) {
	if t.n == nil {
		t.n = map[pipeline.Outcome]int{}
	}
	for _, o := range outs {
		t.n[o]++
	}
	t.total += len(outs)
}
