package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"golang.org/x/time/rate"

	"github.com/resingest/resingest/pipeline/lease"
	"github.com/resingest/resingest/sinks"
)

// shardReader reads one held shard.
type shardReader struct {
	w     *kinesisWorker
	h     *lease.Held
	shard string
	calls *rate.Limiter
	bytes *rate.Limiter
	// notBefore delays the next GetRecords until the bytes already read
	// fit in the shard's 2 MB/s.
	notBefore time.Time
	// checkpoint is the last position stored in the lease (a sequence
	// number or a starting sentinel): where an expired iterator restarts.
	checkpoint string
	// inFlight says a batch of this shard is counted in w.inFlight.
	inFlight bool
}

// read processes h's shard until work ends, the lease is lost or the shard
// is read to its end. An error means a batch could not be stored (the
// worker stops, nothing of it checkpointed) or the stream is unusable.
func (w *kinesisWorker) read(work, drain context.Context, h *lease.Held) error {
	// ctx ends with work or as soon as the renewer loses the lease.
	ctx, cancel := context.WithCancel(work)
	defer cancel()
	go func() {
		select {
		case <-h.Lost():
			cancel()
		case <-ctx.Done():
		}
	}()
	l := h.Lease()
	r := &shardReader{
		w: w, h: h, shard: l.Key, checkpoint: l.Checkpoint,
		calls: rate.NewLimiter(kinesisCallsPerSecond, 1),
		bytes: rate.NewLimiter(kinesisBytesPerSecond, kinesisBytesPerSecond),
	}
	err := r.run(ctx, work, drain, l.ParentShardIDs)
	if r.inFlight {
		w.inFlight.Add(-1) // a batch that was not acknowledged
	}
	var unacked *UnackedError
	if err != nil && !errors.As(err, &unacked) && ctx.Err() != nil &&
		(errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return nil // stopping, or the lease moved: not a failure
	}
	return err
}

// run reads the shard through Drain. Reads and waits end with ctx (work,
// or the lease lost); a batch in flight is processed on work's drain, so a
// lease lost during a store outage does not abandon it midway: its
// checkpoint then finds the lease gone and the next holder reads it again.
func (r *shardReader) run(ctx, work, drain context.Context, parents []string) error {
	log := r.w.log.With("shard", r.shard)
	if r.checkpoint == lease.ShardEnd {
		r.w.leases.Finish(r.h)
		return nil
	}
	if err := r.waitParents(ctx, parents); err != nil {
		return err
	}
	iter, err := r.iterator(ctx)
	if err != nil {
		return err
	}
	src := &shardSource{r: r, lctx: ctx, drain: drain, log: log, iter: iter, idle: r.w.cfg.IdlePoll}
	return Drain(work, src, r.w.proc, r.w.opts)
}

// shardSource is a held shard as a Source: a batch is one GetRecords
// response, acknowledged by checkpointing its last sequence number (only
// after Process acknowledged every record, and only while the lease is
// held: it never moves past an unstored record). It ends (io.EOF) when the
// lease is lost, or once the shard was read to its end and finished.
type shardSource struct {
	r     *shardReader
	lctx  context.Context // ends with the work or when the lease is lost
	drain context.Context // the worker's: finishing a shard outlives a stop by as long as a batch
	log   *slog.Logger
	iter  string
	idle  time.Duration // the next wait of an empty shard
	ended bool          // the last GetRecords had no next iterator
}

// Next reads until records arrive, backing off throttles and transient
// errors and polling an empty shard less and less often; io.EOF once the
// lease is lost (work goes on: Drain stops reading this shard only).
func (s *shardSource) Next(work context.Context) (Batch, error) {
	r := s.r
	ctx := s.lctx
	if ctx.Err() != nil || r.h.IsLost() {
		if work.Err() != nil {
			return Batch{}, work.Err()
		}
		return Batch{}, io.EOF
	}
	if s.ended {
		if err := r.finish(ctx, s.drain, s.log); err != nil {
			return Batch{}, err
		}
		return Batch{}, io.EOF
	}
	for attempt := 0; ctx.Err() == nil; {
		if err := sleep(ctx, time.Until(r.notBefore)); err != nil {
			return Batch{}, err
		}
		if err := r.calls.Wait(ctx); err != nil {
			return Batch{}, err
		}
		out, err := r.w.cfg.Client.GetRecords(ctx, &kinesis.GetRecordsInput{
			ShardIterator: aws.String(s.iter), Limit: aws.Int32(int32(r.w.cfg.BatchSize)),
		})
		switch {
		case err == nil:
			attempt = 0
		case ctx.Err() != nil:
			return Batch{}, ctx.Err()
		case isExpiredIterator(err):
			s.log.Info("shard iterator expired; restarting from the checkpoint", "checkpoint", r.checkpoint)
			if s.iter, err = r.iterator(ctx); err != nil {
				return Batch{}, err
			}
			continue
		case sinks.IsRetryable(classifyKinesis(ctx, err)):
			r.w.cfg.Metrics.retry(r.shard, isThrottle(err))
			if isThrottle(err) {
				// A throttled shard is being read, not idle: without this an
				// ExitWhenIdle worker quits mid-shard during a long backoff.
				r.w.lastActive.Store(time.Now().UnixNano())
			}
			s.log.Warn("GetRecords failed, backing off", "attempt", attempt+1, "throttled", isThrottle(err), "err", err)
			if err := r.w.cfg.Backoff.Wait(ctx, attempt); err != nil {
				return Batch{}, err
			}
			attempt++
			continue
		default:
			return Batch{}, fmt.Errorf("kinesis: shard %s: get records: %w", r.shard, err)
		}
		r.w.cfg.Metrics.read(r.shard, len(out.Records), out.MillisBehindLatest)
		if out.NextShardIterator == nil {
			s.ended = true
		} else {
			s.iter = *out.NextShardIterator
		}
		if len(out.Records) > 0 {
			s.idle = r.w.cfg.IdlePoll
			return s.batch(out.Records), nil
		}
		if s.ended {
			return s.Next(work) // finish the shard
		}
		// An empty shard is polled less and less often.
		if err := sleep(ctx, s.idle); err != nil {
			return Batch{}, err
		}
		s.idle = min(2*s.idle, r.w.cfg.IdlePollMax)
	}
	if work.Err() != nil {
		return Batch{}, work.Err()
	}
	return Batch{}, io.EOF // the lease was lost while waiting
}

// batch makes the messages of recs, counts the batch in flight and paces
// the shard's next read by the bytes read.
func (s *shardSource) batch(recs []types.Record) Batch {
	r := s.r
	received := time.Now()
	size := 0
	msgs := make([]Message, len(recs))
	for i, rec := range recs {
		size += len(rec.Data)
		// Partition is the bare shard id, as the Lambda handler writes it:
		// a stream read by either path keeps one audit row per record.
		value, whole := CutOversized(rec.Data, len(rec.Data), r.w.proc.maxBytes())
		msgs[i] = Message{Value: value, Size: whole, Source: "kinesis", Partition: r.shard,
			Position: aws.ToString(rec.SequenceNumber), ReceivedAt: received}
	}
	r.w.lastActive.Store(received.UnixNano())
	r.w.inFlight.Add(1)
	r.inFlight = true
	// Reserve the bytes read now; the next call waits as long as the
	// shard's 2 MB/s allows.
	res := r.bytes.ReserveN(received, min(size, kinesisBytesPerSecond))
	r.notBefore = received.Add(res.DelayFrom(received))
	last := msgs[len(msgs)-1].Position
	return Batch{
		Messages: msgs,
		Name:     fmt.Sprintf("kinesis: shard %s: batch of %d (not checkpointed)", r.shard, len(msgs)),
		Ack: func(ctx context.Context, _ []Outcome) error {
			// Leave the in-flight count only once lastActive is fresh, so
			// the worker's idle check (ExitWhenIdle) never sees a gap.
			defer func() {
				r.w.inFlight.Add(-1)
				r.inFlight = false
			}()
			if err := r.checkpointWith(ctx, last); err != nil {
				return err
			}
			r.w.lastActive.Store(time.Now().UnixNano())
			return nil
		},
	}
}

// checkpointWith writes cp, retrying transient failures until ctx ends. A
// lost lease is not an error: the reader just stops (the new holder reads
// the batch again; the version guard makes that harmless).
func (r *shardReader) checkpointWith(ctx context.Context, cp string) error {
	for attempt := 0; ; attempt++ {
		err := r.w.leases.Checkpoint(ctx, r.h, cp)
		switch {
		case err == nil:
			r.checkpoint = cp
			return nil
		case errors.Is(err, lease.ErrLost):
			r.w.log.Warn("lease lost before checkpoint; the next holder reads the batch again", "shard", r.shard)
			return nil
		case !sinks.IsRetryable(err):
			return fmt.Errorf("kinesis: shard %s: checkpoint: %w", r.shard, err)
		}
		if werr := r.w.cfg.Backoff.Wait(ctx, attempt); werr != nil {
			return fmt.Errorf("kinesis: shard %s: checkpoint: %w", r.shard, errors.Join(err, werr))
		}
	}
}

// finish handles the end of a closed shard: child leases first, then the
// SHARD_END checkpoint that lets them start.
func (r *shardReader) finish(ctx, drain context.Context, log *slog.Logger) error {
	if err := r.retry(ctx, func() error { return r.w.createChildLeases(ctx, r.shard) }); err != nil {
		return err
	}
	if err := r.checkpointWith(drain, lease.ShardEnd); err != nil {
		return err
	}
	if r.checkpoint == lease.ShardEnd {
		log.Info("shard read to its end")
		r.w.leases.Finish(r.h)
	}
	r.w.wake()
	return nil
}

// waitParents blocks until every parent shard was read to its end.
func (r *shardReader) waitParents(ctx context.Context, parents []string) error {
	if len(parents) == 0 {
		return nil
	}
	logged := false
	for {
		var done bool
		err := r.retry(ctx, func() error {
			var err error
			done, err = r.w.parentsDone(ctx, parents)
			return err
		})
		if err != nil || done {
			return err
		}
		if !logged {
			r.w.log.Info("waiting for parent shards to reach SHARD_END", "shard", r.shard, "parents", parents)
			logged = true
		}
		if err := sleep(ctx, r.w.cfg.IdlePoll); err != nil {
			return err
		}
	}
}

// iterator opens the shard after the checkpoint (or at the start position
// it names).
func (r *shardReader) iterator(ctx context.Context) (string, error) {
	in := &kinesis.GetShardIteratorInput{StreamName: aws.String(r.w.cfg.Stream), ShardId: aws.String(r.shard)}
	switch r.checkpoint {
	case lease.TrimHorizon, "":
		in.ShardIteratorType = types.ShardIteratorTypeTrimHorizon
	case lease.Latest:
		in.ShardIteratorType = types.ShardIteratorTypeLatest
	case lease.AtTimestamp:
		in.ShardIteratorType = types.ShardIteratorTypeAtTimestamp
		in.Timestamp = aws.Time(r.w.cfg.StartTimestamp)
	default:
		in.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
		in.StartingSequenceNumber = aws.String(r.checkpoint)
	}
	var iter string
	err := r.retry(ctx, func() error {
		out, err := r.w.cfg.Client.GetShardIterator(ctx, in)
		if err != nil {
			return fmt.Errorf("kinesis: shard %s: get iterator at %s: %w", r.shard, r.checkpoint, classifyKinesis(ctx, err))
		}
		iter = aws.ToString(out.ShardIterator)
		return nil
	})
	return iter, err
}

// retry runs op until it succeeds, fails for good, or ctx ends.
func (r *shardReader) retry(ctx context.Context, op func() error) error {
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil || !sinks.IsRetryable(err) {
			return err
		}
		r.w.cfg.Metrics.retry(r.shard, isThrottle(err))
		if werr := r.w.cfg.Backoff.Wait(ctx, attempt); werr != nil {
			return werr
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
