package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaConfig configures a Kafka consumer-group worker.
type KafkaConfig struct {
	Brokers []string
	Topic   string
	Group   string
	// MaxPollRecords bounds one batch (default 1000).
	MaxPollRecords int
	// FromStart makes a group without committed offsets start at the oldest
	// record (default true via the command; false means the newest).
	FromStart bool
	// ClientID names this worker in broker logs.
	ClientID string
	// SessionTimeout is how long the group waits for a silent member
	// (crashed, SIGKILLed, partitioned away) before giving its partitions
	// to the others; 0 keeps the client's default (45s). The broker
	// bounds it (group.min.session.timeout.ms, 6s by default).
	SessionTimeout time.Duration
	// InstanceID, when set, makes this worker a static group member
	// (KIP-345): a restarted worker with the same id takes its partitions
	// back at once instead of waiting for its old session to expire. Each
	// worker of a group needs its own id.
	InstanceID string
	// MaxBytes is the largest message accepted (0: the Processor's, see
	// Processor.MaxBytes): a larger
	// record is cut to its first bytes at once and dead-lettered as too
	// large, and fetches are bounded by it (see kafka_limits.go).
	MaxBytes int
}

func (c *KafkaConfig) validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("kafka: --brokers is required (or RESINGEST_KAFKA_BROKERS)")
	case c.Topic == "":
		return errors.New("kafka: --topic is required")
	case c.Group == "":
		return errors.New("kafka: --group is required")
	case c.MaxPollRecords < 0:
		return errors.New("kafka: --batch-size must be positive")
	case c.SessionTimeout < 0:
		return errors.New("kafka: the session timeout must not be negative")
	}
	if c.MaxPollRecords == 0 {
		c.MaxPollRecords = 1000
	}
	return nil
}

// RunOptions are the worker behaviours shared by every source.
type RunOptions struct {
	// ExitWhenIdle stops the worker cleanly once no message arrived for this
	// long (0: run until ctx ends).
	ExitWhenIdle time.Duration
	// ShutdownTimeout bounds draining the batch in flight after ctx ends
	// (default 30s); past it the batch is abandoned uncommitted.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	Metrics         *Metrics
	// OnBatch, when set, is called after each batch is acknowledged and
	// committed (progress reporting).
	OnBatch func(outcomes []Outcome)
}

func (o *RunOptions) defaults() {
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// drainContext returns a context that outlives ctx by timeout: work in
// flight when ctx ends gets that long to finish (the second shutdown step).
func drainContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	drain, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(timeout, cancel)
		context.AfterFunc(drain, func() { t.Stop() })
	})
	return drain, func() { stop(); cancel() }
}

// RunKafka consumes cfg.Topic as a member of cfg.Group until ctx ends or the
// worker is idle for opts.ExitWhenIdle. Offsets are committed only after
// Process acknowledged the whole batch, and rebalances are held while a
// batch is in flight, so a revoked partition is never committed by this
// worker and a record is never lost: at worst it is redelivered and
// applied again without effect.
func RunKafka(ctx context.Context, cfg KafkaConfig, proc *Processor, opts RunOptions) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = proc.maxBytes()
	}
	opts.defaults()
	log := opts.Logger.With("source", "kafka", "topic", cfg.Topic, "group", cfg.Group)
	// lastActive is when a record last arrived or partitions were last
	// assigned (unix nanos), for ExitWhenIdle.
	var lastActive atomic.Int64
	var assigned atomic.Bool
	start := time.Now()
	lastActive.Store(start.UnixNano())
	reset := kgo.NewOffset().AtEnd()
	if cfg.FromStart {
		reset = kgo.NewOffset().AtStart()
	}
	kopts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(reset),
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.FetchMaxBytes(kafkaFetchMaxBytes), // kafka_limits.go
		kgo.FetchMaxPartitionBytes(kafkaFetchMaxPartitionBytes),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			log.Info("partitions assigned", "partitions", m[cfg.Topic])
			// Waiting for a group join is not idleness: restart the clock.
			lastActive.Store(time.Now().UnixNano())
			assigned.Store(true)
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			log.Info("partitions revoked", "partitions", m[cfg.Topic])
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			log.Warn("partitions lost", "partitions", m[cfg.Topic])
		}),
	}
	if cfg.ClientID != "" {
		kopts = append(kopts, kgo.ClientID(cfg.ClientID))
	}
	if cfg.InstanceID != "" {
		kopts = append(kopts, kgo.InstanceID(cfg.InstanceID))
	}
	if cfg.SessionTimeout > 0 {
		kopts = append(kopts, kgo.SessionTimeout(cfg.SessionTimeout))
	}
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	// With BlockRebalanceOnPoll a plain Close would wait for a rebalance
	// this loop no longer allows; leave the group allowing it.
	defer cl.CloseAllowingRebalance()
	src := &kafkaSource{cl: cl, cfg: cfg, opts: &opts, log: log, start: start, lastActive: &lastActive, assigned: &assigned}
	if err := Drain(ctx, src, proc, opts); err != nil {
		// Nothing of the failed batch is committed; the group redelivers it.
		return fmt.Errorf("kafka: %w", err)
	}
	if ctx.Err() != nil {
		log.Info("stopping: batch drained and committed")
	}
	return nil
}

// kafkaSource is RunKafka's Source: a batch is one poll of at most
// MaxPollRecords records; rebalances are held from the poll until the
// batch is acknowledged (committed), so a revoked partition is never
// committed by this worker.
type kafkaSource struct {
	cl         *kgo.Client
	cfg        KafkaConfig
	opts       *RunOptions
	log        *slog.Logger
	start      time.Time
	lastActive *atomic.Int64 // when a record last arrived or partitions were assigned (unix nanos)
	assigned   *atomic.Bool
}

// Next polls until records arrive; io.EOF once the worker has been idle
// for ExitWhenIdle.
func (s *kafkaSource) Next(ctx context.Context) (Batch, error) {
	for ctx.Err() == nil {
		pollCtx, cancel := context.WithTimeout(ctx, time.Second)
		fetches := s.cl.PollRecords(pollCtx, s.cfg.MaxPollRecords)
		cancel()
		if fetches.IsClientClosed() {
			return Batch{}, io.EOF
		}
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) && !errors.Is(fe.Err, context.Canceled) {
				s.log.Warn("fetch error", "partition", fe.Partition, "err", fe.Err)
			}
		}
		records := fetches.Records()
		if len(records) == 0 {
			s.cl.AllowRebalance()
			if s.idle() {
				return Batch{}, io.EOF
			}
			continue
		}
		received := time.Now()
		s.lastActive.Store(received.UnixNano())
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if n := len(p.Records); n > 0 {
				s.opts.Metrics.lag(p.Topic+"/"+strconv.Itoa(int(p.Partition)), p.HighWatermark-p.Records[n-1].Offset-1)
			}
		})
		msgs := make([]Message, len(records))
		sizes := cutOversizedRecords(records, s.cfg.MaxBytes) // kafka_limits.go
		for i, r := range records {
			msgs[i] = Message{
				Value: r.Value, Size: sizes[i], Source: "kafka",
				Partition:  r.Topic + "/" + strconv.Itoa(int(r.Partition)),
				Position:   strconv.FormatInt(r.Offset, 10),
				ReceivedAt: received,
			}
		}
		return Batch{
			Messages: msgs,
			Name:     fmt.Sprintf("batch of %d (offsets not committed)", len(msgs)),
			Ack: func(ctx context.Context, _ []Outcome) error {
				if err := s.cl.CommitRecords(ctx, records...); err != nil {
					// The batch is stored; a failed commit only means
					// redelivery, which the version guard makes harmless.
					s.log.Warn("offset commit failed; records will be redelivered", "err", err)
				}
				s.cl.AllowRebalance()
				return nil
			},
		}, nil
	}
	return Batch{}, ctx.Err()
}

// idle reports whether the worker should exit for ExitWhenIdle.
func (s *kafkaSource) idle() bool {
	idleFor := s.opts.ExitWhenIdle
	if idleFor <= 0 || time.Since(time.Unix(0, s.lastActive.Load())) < idleFor {
		return false
	}
	// Before any partition was assigned the worker has not seen the topic
	// yet: it waits for the group join too (a crashed member's session may
	// hold the partitions), up to a bound.
	if !s.assigned.Load() && time.Since(s.start) < idleFor+joinGrace(s.cfg) {
		return false
	}
	if !s.assigned.Load() {
		s.log.Warn("no partitions were assigned; exiting idle", "waited", time.Since(s.start).Round(time.Second))
	}
	s.log.Info("idle, exiting", "idle_for", idleFor)
	return true
}

// joinGrace bounds how long an idle worker waits for its first partition
// assignment: long enough for a crashed member's session to expire.
func joinGrace(cfg KafkaConfig) time.Duration {
	if cfg.SessionTimeout > 0 {
		return cfg.SessionTimeout + 5*time.Second
	}
	return 50 * time.Second // kgo's default session timeout is 45 s
}
