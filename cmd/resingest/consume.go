package main

import (
	"context"
	"errors"
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

// consumeFlags are the settings of 'consume'.
type consumeFlags struct {
	source          string
	brokers         []string
	topic, group    string
	fromStart       bool
	sessionTimeout  time.Duration
	instanceID      string
	path            string
	batchSize       int
	exitWhenIdle    time.Duration
	shutdownTimeout time.Duration
	metricsAddr     string
	mapping         string
	maxBytes        int
	cpuProfile      string
	stores          storeFlags
}

func (f *consumeFlags) validate() error {
	switch f.source {
	case "kafka":
		if len(f.brokers) == 0 {
			return errors.New("--source kafka needs --brokers (or RESINGEST_KAFKA_BROKERS)")
		}
		if f.topic == "" || f.group == "" {
			return errors.New("--source kafka needs --topic and --group")
		}
	case "file":
		if f.path == "" {
			return errors.New("--source file needs --path DIR")
		}
	default:
		return fmt.Errorf("--source %q: must be kafka or file", f.source)
	}
	if f.batchSize <= 0 {
		return fmt.Errorf("--batch-size %d: must be positive", f.batchSize)
	}
	if f.exitWhenIdle < 0 || f.shutdownTimeout <= 0 {
		return errors.New("--exit-when-idle must be >= 0 and --shutdown-timeout > 0")
	}
	return f.stores.validate()
}

func newConsumeCmd() *cobra.Command {
	var f consumeFlags
	cmd := &cobra.Command{
		Use:   "consume --source kafka|file [flags]",
		Short: "Run an ingest worker: source -> parse -> sinks, committing only what every sink stored",
		Long: `consume runs an ingest worker. It reads messages from Kafka (as a member of a
consumer group; several workers with the same --group share the partitions)
or from a folder of XML files, extracts them with the parser, writes every
reservation to each configured store, and records an audit row per message.
Poison messages go, redacted, to the dead_letters table.

Kafka offsets are committed only past records that every sink acknowledged;
a batch that cannot be stored is never committed, so a restart redelivers it
and the version guard makes the repetition harmless.

SIGINT/SIGTERM stop polling, let the batch in flight finish and commit within
--shutdown-timeout, and exit 0.

Every flag can be set from the environment as RESINGEST_<FLAG> (--brokers:
RESINGEST_KAFKA_BROKERS).`,
		Example: `  eval "$(scripts/dev-services env)"
  resingest consume --source kafka --topic reservations --group resingest --exit-when-idle 10s
  resingest consume --source file --path ./drop --sinks postgres`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			return runConsume(cmd.Context(), &f, cmd)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.source, "source", "kafka", "where messages come from: kafka or file")
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
	fl.IntVar(&f.maxBytes, "max-bytes", parse.DefaultMaxBytes, "largest message accepted, in bytes")
	fl.StringVar(&f.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the run to this file (for performance work; see bench/e2e)")
	f.stores.register(cmd)
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
	var ready atomic.Bool
	if f.metricsAddr != "" {
		stop, err := serveMetrics(f.metricsAddr, reg, &ready)
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
	proc, err := pipeline.NewProcessor(st.processorConfig(parser, metrics, log))
	if err != nil {
		return err
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
