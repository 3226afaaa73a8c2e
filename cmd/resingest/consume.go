package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
)

func init() { addCommand(newConsumeCmd) }

func newConsumeCmd() *cobra.Command {
	var f consumeFlags
	cmd := &cobra.Command{
		Use:   "consume --source kafka|kinesis|file [flags]",
		Short: "Run an ingest worker: source -> parse -> sinks, committing only what every sink stored",
		Long: `consume runs an ingest worker. It reads messages from Kafka (as a member of a
consumer group; several workers with the same --group share the partitions),
from a Kinesis stream (several workers with the same --lease-table share the
shards through leases in DynamoDB) or from a folder of XML files, extracts
them with the parser, writes every reservation to each configured store, and
records an audit row per message.
Poison messages go, redacted, to the dead_letters table.

A record without a hotel code (a vendor's cancel with only the confirmation
number) is applied to the one reservation stored in Postgres with that
confirmation; while there is none it is held (audit outcome "held") and
applied when the booking is stored; held longer than --pending-ttl it is
dead-lettered as unresolved, and with several candidate hotels as ambiguous.

Kafka offsets and Kinesis checkpoints move only past records that every sink
acknowledged; a batch that cannot be stored is never committed, so a restart
redelivers it and the version guard makes the repetition harmless.

Kinesis: a worker that stops renewing its leases for --lease-duration (it
died) loses them to the others; a joining worker steals one lease per cycle
until the shards are spread evenly; after a split or merge, child shards
start only once their parents are checkpointed at SHARD_END. On SIGTERM the
leases are released after the last checkpoint, for the others to take at
once. With --exit-when-idle a Kinesis worker also waits while any lease is
free or expired (a dead worker's shards), so keep it above --lease-duration.

--dry-run reads the source without a trace (Kafka: no consumer group, so no
offset commits; Kinesis: plain shard iterators, no leases or checkpoints;
files: read only), parses and validates every message with the mapping, and
prints the coverage report of 'resingest mapping check' when the source is
idle for --exit-when-idle or on SIGINT/SIGTERM. Exit status 0, 1 when some
messages were rejected, 2 when it could not run.

--mapping-per-source gives each vendor's topic, stream or drop folder its own
mapping in one setting shared by every worker (env
RESINGEST_MAPPING_PER_SOURCE); a worker uses the entry of its own source, or
--mapping when the list does not name it.

SIGINT/SIGTERM stop polling, let the batch in flight finish and commit within
--shutdown-timeout, and exit 0.

Every flag can be set from the environment as RESINGEST_<FLAG> (--brokers:
RESINGEST_KAFKA_BROKERS).`,
		Example: `  eval "$(scripts/dev-services env)"
  resingest consume --source kafka --topic reservations --group resingest --exit-when-idle 10s
  resingest consume --source kinesis --stream reservations --lease-duration 10s
  resingest consume --source file --path ./drop --sinks postgres
  resingest consume --dry-run --source kafka --topic expedia-res --mapping ./expedia.yaml --exit-when-idle 5s
  RESINGEST_MAPPING_PER_SOURCE=kafka:expedia-res=./expedia.yaml,file:/drop/legacy=ota2001 resingest consume ...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if f.dryRun {
				return runDryRun(cmd.Context(), &f, cmd)
			}
			return runConsume(cmd.Context(), &f, cmd)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.source, "source", "kafka", "where messages come from: kafka, kinesis or file")
	fl.StringSliceVar(&f.brokers, "brokers", nil, "Kafka seed brokers, host:port, comma-separated (env RESINGEST_KAFKA_BROKERS)")
	fl.StringVar(&f.topic, "topic", "reservations", "Kafka topic")
	fl.StringVar(&f.group, "group", "resingest", "Kafka consumer group")
	fl.DurationVar(&f.sessionTimeout, "session-timeout", 0, "Kafka group session timeout: how long the group waits for a silent worker before moving its partitions (0: 45s)")
	fl.StringVar(&f.instanceID, "instance-id", "", "static group membership id (unique per worker, stable across restarts): a restarted worker takes its partitions back at once")
	fl.BoolVar(&f.fromStart, "from-start", true, "a group without committed offsets starts at the oldest record (false: the newest)")
	fl.StringVar(&f.path, "path", "", "folder of *.xml files, for --source file")
	fl.IntVar(&f.batchSize, "batch-size", 1000, "most messages per batch (one poll)")
	fl.DurationVar(&f.exitWhenIdle, "exit-when-idle", 0, "stop cleanly once no message arrived for this long (0: never)")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, time allowed to finish and commit the batch in flight")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve /metrics, /healthz and /readyz on this address (e.g. 127.0.0.1:9108)")
	fl.StringVar(&f.mapping, "mapping", parse.AutoMapping, "parser mapping: auto, a built-in name, or a YAML file")
	fl.StringVar(&f.mappingSources, "mapping-per-source", "", "mapping per source, KIND:NAME=MAPPING,... (kafka:TOPIC, kinesis:STREAM, file:DIR); the entry of this worker's source wins over --mapping")
	fl.BoolVar(&f.dryRun, "dry-run", false, "parse, validate and count what the source holds with the mapping; no store is opened or written, no offset, checkpoint or lease is taken; prints a coverage report at the end")
	fl.IntVar(&f.maxBytes, "max-bytes", parse.DefaultMaxBytes, "largest message accepted, in bytes")
	fl.DurationVar(&f.stallTimeout, "stall-timeout", pipeline.DefaultStallTimeout, "/readyz answers 503 (and resingest_sink_stalled{sink} is 1) while a store write makes no progress for this long")
	fl.StringVar(&f.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the run to this file (for performance work; see bench/e2e)")
	fl.DurationVar(&f.pendingTTL, "pending-ttl", pipeline.DefaultPendingTTL, "a record without a hotel code waits this long for a reservation with its confirmation, then is dead-lettered as unresolved")
	fl.DurationVar(&f.pendingSweep, "pending-sweep-interval", time.Minute, "how often the worker dead-letters held records older than --pending-ttl")
	f.partitions.register(fl, true)
	f.stores.register(cmd)
	f.kinesis.register(cmd)
	return cmd
}

func runConsume(ctx context.Context, f *consumeFlags, cmd *cobra.Command) error {
	log := slog.Default()
	if f.cpuProfile != "" {
		stop, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	parser, err := parse.New(parse.Options{Mapping: f.mapping, Limits: parse.Limits{MaxBytes: f.maxBytes}})
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	metrics := pipeline.NewMetrics(reg)
	var kinesisMetrics *pipeline.KinesisMetrics
	if f.source == "kinesis" {
		kinesisMetrics = pipeline.NewKinesisMetrics(reg)
	}
	var ready atomic.Bool
	var watched atomic.Pointer[pipeline.Processor]
	if f.metricsAddr != "" {
		stop, err := serveMetrics(f.metricsAddr, reg, &ready, stalledStores(&watched))
		if err != nil {
			return err
		}
		defer stop()
	}
	st, err := f.stores.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	cfg := st.processorConfig(parser, metrics, log)
	cfg.StallTimeout = f.stallTimeout
	proc, err := pipeline.NewProcessor(cfg)
	if err != nil {
		return err
	}
	defer watchStores(ctx, proc, &watched, log, reg)()
	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go proc.RunPendingSweeper(sweepCtx, f.pendingTTL, f.pendingSweep)
	if st.pg != nil {
		go st.pg.KeepPartitions(sweepCtx, f.partitions.every, f.partitions.ahead, f.partitions.retention, log)
	}
	var total, dead atomic.Int64
	var lastBatch atomic.Int64 // unix nanos of the last acknowledged batch
	started := time.Now()
	opts := pipeline.RunOptions{
		ExitWhenIdle: f.exitWhenIdle, ShutdownTimeout: f.shutdownTimeout, Logger: log, Metrics: metrics,
		OnBatch: func(outcomes []pipeline.Outcome) {
			total.Add(int64(len(outcomes)))
			lastBatch.Store(time.Now().UnixNano())
			for _, o := range outcomes {
				if o == pipeline.OutcomeDeadLettered {
					dead.Add(1)
				}
			}
			log.Info("batch stored", "messages", len(outcomes), "total", total.Load(), "dead_lettered", dead.Load())
		},
	}
	ready.Store(true)
	log.Info("worker started", "source", f.source, "sinks", strings.Join(st.names, ","))
	switch f.source {
	case "kafka":
		err = pipeline.RunKafka(ctx, pipeline.KafkaConfig{
			Brokers: f.brokers, Topic: f.topic, Group: f.group, MaxPollRecords: f.batchSize, FromStart: f.fromStart,
			SessionTimeout: f.sessionTimeout, InstanceID: f.instanceID,
		}, proc, opts)
	case "kinesis":
		err = runKinesis(ctx, f, proc, opts, kinesisMetrics)
	case "file":
		err = pipeline.RunFiles(ctx, f.path, f.batchSize, f.maxBytes, proc, opts)
	}
	// Throughput counts the time until the last batch, not the idle wait
	// of --exit-when-idle.
	busy := time.Since(started)
	if last := lastBatch.Load(); last > 0 {
		busy = time.Unix(0, last).Sub(started)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "consume: %d messages (%d dead-lettered) in %s, %.0f messages/s\n",
		total.Load(), dead.Load(), busy.Round(time.Millisecond), float64(total.Load())/busy.Seconds())
	return err
}

// startCPUProfile profiles the process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	out, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		out.Close()
	}, nil
}
