package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/resingest/resingest/pipeline/lease"
	"github.com/resingest/resingest/sinks"
)

// Kinesis per-shard read limits (the service's: 5 GetRecords calls and
// 2 MB per second per shard) and its largest GetRecords batch.
const (
	kinesisCallsPerSecond = 5
	kinesisBytesPerSecond = 2 << 20
	kinesisMaxLimit       = 10000
)

// KinesisConfig configures a Kinesis worker.
type KinesisConfig struct {
	Stream string
	Client KinesisAPI
	// Leases is the DynamoDB lease table the workers of the stream share
	// (lease.Table.Ensure is called on start).
	Leases *lease.Table
	// WorkerID is this worker's lease owner name; unique per live worker.
	WorkerID string
	// StartPosition is where shards without a checkpoint start:
	// lease.TrimHorizon (default), lease.Latest or lease.AtTimestamp
	// (with StartTimestamp). Children of a split or merge always start at
	// their trim horizon, so nothing after the parents' end is skipped.
	StartPosition  string
	StartTimestamp time.Time
	// LeaseDuration: a worker silent this long loses its leases (default 10s).
	LeaseDuration time.Duration
	// TakeInterval paces lease-taking cycles (default LeaseDuration/2).
	TakeInterval time.Duration
	// ShardSyncInterval paces the discovery of new shards (default 30s).
	ShardSyncInterval time.Duration
	// BatchSize bounds one GetRecords call, so one batch (default 1000,
	// at most 10000).
	BatchSize int
	// IdlePoll is the wait after an empty GetRecords; it doubles while the
	// shard stays empty, up to IdlePollMax (defaults 1s and 5s).
	IdlePoll, IdlePollMax time.Duration
	// Backoff paces retries of throttled or failed GetRecords calls and
	// checkpoints (zero value: 50ms doubling to 5s, jittered).
	Backoff sinks.Backoff
	Metrics *KinesisMetrics
}

// validate checks cfg and fills in defaults.
func (c *KinesisConfig) validate() error {
	switch {
	case c.Stream == "":
		return errors.New("kinesis: --stream is required")
	case c.Client == nil:
		return errors.New("kinesis: a client is required")
	case c.Leases == nil:
		return errors.New("kinesis: a lease table is required")
	case c.WorkerID == "":
		return errors.New("kinesis: --worker-id must not be empty")
	case c.BatchSize < 0 || c.BatchSize > kinesisMaxLimit:
		return fmt.Errorf("kinesis: --batch-size %d: must be between 1 and %d", c.BatchSize, kinesisMaxLimit)
	case c.LeaseDuration < 0 || c.TakeInterval < 0 || c.ShardSyncInterval < 0 || c.IdlePoll < 0 || c.IdlePollMax < 0:
		return errors.New("kinesis: durations must not be negative")
	}
	switch c.StartPosition {
	case "":
		c.StartPosition = lease.TrimHorizon
	case lease.TrimHorizon, lease.Latest:
	case lease.AtTimestamp:
		if c.StartTimestamp.IsZero() {
			return errors.New("kinesis: --start-position AT_TIMESTAMP needs --start-timestamp")
		}
	default:
		return fmt.Errorf("kinesis: --start-position %q: must be TRIM_HORIZON, LATEST or AT_TIMESTAMP", c.StartPosition)
	}
	if c.BatchSize == 0 {
		c.BatchSize = 1000
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = 10 * time.Second
	}
	if c.TakeInterval == 0 {
		c.TakeInterval = c.LeaseDuration / 2
	}
	if c.ShardSyncInterval == 0 {
		c.ShardSyncInterval = 30 * time.Second
	}
	if c.IdlePoll == 0 {
		c.IdlePoll = time.Second
	}
	if c.IdlePollMax < c.IdlePoll {
		c.IdlePollMax = max(c.IdlePoll, 5*time.Second)
	}
	return nil
}

// kinesisWorker is the state one RunKinesis call shares with its readers.
type kinesisWorker struct {
	cfg    KinesisConfig
	proc   *Processor
	opts   RunOptions
	log    *slog.Logger
	leases *lease.Manager
	// lastActive is when a record last arrived or a lease was gained
	// (unix nanos), for ExitWhenIdle.
	lastActive atomic.Int64
	// inFlight counts batches being processed: a worker busy with a slow
	// batch is not idle.
	inFlight atomic.Int32
	// kick asks the taker for an early cycle (a shard ended: its
	// children's leases are ready).
	kick chan struct{}
}

// RunKinesis consumes cfg.Stream together with the other workers of the
// lease table until ctx ends, or until it held nothing to read and
// received no record for opts.ExitWhenIdle.
//
// Each held shard has one reader goroutine: GetRecords within the shard's
// limits, Process, then a checkpoint of the batch's last sequence number,
// conditional on still holding the lease. Renewals run on their own
// goroutine. A child shard waits until its parents are checkpointed at
// SHARD_END. On ctx end the readers finish the batch in flight within
// opts.ShutdownTimeout and checkpoint it, then the leases are released so
// that other workers take them at once.
func RunKinesis(ctx context.Context, cfg KinesisConfig, proc *Processor, opts RunOptions) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	opts.defaults()
	w := &kinesisWorker{cfg: cfg, proc: proc, opts: opts, kick: make(chan struct{}, 1),
		log: opts.Logger.With("source", "kinesis", "stream", cfg.Stream, "worker", cfg.WorkerID)}
	var err error
	w.leases, err = lease.NewManager(cfg.Leases, lease.Config{
		WorkerID: cfg.WorkerID, LeaseDuration: cfg.LeaseDuration, Logger: opts.Logger.With("stream", cfg.Stream),
		OnChange: func(shard, event string) {
			w.log.Info("lease "+event, "shard", shard)
			cfg.Metrics.leaseEvent(event, w.leases.HeldCount())
		},
	})
	if err != nil {
		return err
	}
	if err := cfg.Leases.Ensure(ctx); err != nil {
		return fmt.Errorf("kinesis: %w", err)
	}
	w.lastActive.Store(time.Now().UnixNano())

	// Renewals outlive ctx: the readers still hold their leases while they
	// drain, and the leases are released only after.
	renewCtx, stopRenew := context.WithCancel(context.WithoutCancel(ctx))
	var renewer sync.WaitGroup
	renewer.Go(func() { w.leases.RunRenewer(renewCtx) })
	drain, cancelDrain := drainContext(ctx, opts.ShutdownTimeout)
	defer cancelDrain()
	work, stopWork := context.WithCancel(ctx)
	defer stopWork()
	// failed keeps the first reader error; it stops the whole worker, as
	// a batch that cannot be stored does in RunKafka.
	var (
		failMu sync.Mutex
		failed error
	)
	fail := func(err error) {
		failMu.Lock()
		if failed == nil {
			failed = err
		}
		failMu.Unlock()
		stopWork()
	}

	var readers sync.WaitGroup
	err = w.coordinate(work, drain, &readers, fail)
	stopWork()
	readers.Wait()
	stopRenew()
	renewer.Wait()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if rerr := w.leases.ReleaseAll(rctx); rerr != nil {
		w.log.Warn("releasing leases failed; they expire after the lease duration", "err", rerr)
	}
	failMu.Lock()
	if err == nil {
		err = failed
	}
	failMu.Unlock()
	w.log.Info("stopped: batches in flight drained, checkpointed and leases released")
	return err
}

// coordinate runs the take and shard-sync cycles and starts a reader per
// gained lease, until work ends or the worker is idle.
func (w *kinesisWorker) coordinate(work, drain context.Context, readers *sync.WaitGroup, fail func(error)) error {
	var lastSync time.Time
	tick := time.NewTicker(w.cfg.TakeInterval)
	defer tick.Stop()
	for work.Err() == nil {
		if time.Since(lastSync) >= w.cfg.ShardSyncInterval {
			if err := w.syncShards(work); err != nil {
				if !sinks.IsRetryable(err) && work.Err() == nil {
					return err
				}
				w.log.Warn("shard sync failed, retrying next cycle", "err", err)
			} else {
				lastSync = time.Now()
			}
		}
		res, err := w.leases.Take(work)
		switch {
		case err != nil && work.Err() != nil:
			return nil
		case err != nil && !sinks.IsRetryable(err):
			return fmt.Errorf("kinesis: take leases: %w", err)
		case err != nil:
			w.log.Warn("taking leases failed, retrying next cycle", "err", err)
		}
		for _, h := range res.Gained {
			w.lastActive.Store(time.Now().UnixNano())
			readers.Go(func() {
				if err := w.read(work, drain, h); err != nil {
					fail(err)
				}
			})
		}
		if w.idle(res) {
			w.log.Info("idle, exiting", "idle_for", w.opts.ExitWhenIdle)
			return nil
		}
		select {
		case <-work.Done():
		case <-tick.C:
		case <-w.kick:
		}
	}
	return nil
}

// idle reports whether ExitWhenIdle has passed with no record read, no
// batch in flight, no lease gained and no free or expired lease left to
// take.
func (w *kinesisWorker) idle(res lease.TakeResult) bool {
	if w.opts.ExitWhenIdle <= 0 || res.Takeable > 0 || w.inFlight.Load() > 0 {
		return false
	}
	return time.Since(time.Unix(0, w.lastActive.Load())) >= w.opts.ExitWhenIdle
}

// wake asks the taker for an early cycle.
func (w *kinesisWorker) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}
