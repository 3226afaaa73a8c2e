package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/spf13/cobra"

	"github.com/resingest/resingest/lambdahandler"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/sinks/postgres"
)

func init() { addCommand(newLambdaCmd) }

// lambdaRuntimeEnv is set by the Lambda runtime in every execution
// environment; without it lambda.Start cannot reach the runtime API.
const lambdaRuntimeEnv = "AWS_LAMBDA_RUNTIME_API"

// lambdaFlags are the settings of 'lambda'.
type lambdaFlags struct {
	event          string
	timeout        time.Duration
	batchSize      int
	deadlineMargin time.Duration
	mapping        string
	maxBytes       int
	pendingTTL     time.Duration
	pendingSweep   time.Duration
	partitions     partitionFlags // db_partitions.go
	stores         storeFlags
}

func (f *lambdaFlags) validate() error {
	if f.batchSize <= 0 {
		return fmt.Errorf("--batch-size %d: must be positive", f.batchSize)
	}
	if f.pendingTTL < 0 || f.pendingSweep <= 0 {
		return errors.New("--pending-ttl must not be negative and --pending-sweep-interval must be positive")
	}
	if err := f.partitions.validateUpkeep(); err != nil {
		return err
	}
	if f.event != "" && f.timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be positive", f.timeout)
	}
	if f.deadlineMargin <= 0 {
		return fmt.Errorf("--deadline-margin %s: must be positive", f.deadlineMargin)
	}
	return f.stores.validate()
}

func newLambdaCmd() *cobra.Command {
	var f lambdaFlags
	cmd := &cobra.Command{
		Use:   "lambda [--event FILE]",
		Short: "Run as an AWS Lambda function for a Kinesis event source mapping",
		Long: `lambda runs the ingest pipeline as an AWS Lambda function (custom runtime
provided.al2023) behind a Kinesis event source mapping. Each invocation's
records are parsed and written, in order per shard, to the same stores as
'resingest consume'; poison records go to the dead_letters table and count
as handled. When a store fails, the function returns a partial batch
response naming, per shard, the first record not stored, so Lambda retries
from there (the mapping must have FunctionResponseTypes
ReportBatchItemFailures). Writes stop --deadline-margin before the
invocation's deadline and the rest is reported the same way. The stores are
opened once per execution environment and reused by every invocation.

Deployment (deploy/template.yaml, AWS SAM; deploy/README.md):
  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc \
      -o build/lambda/resingest ./cmd/resingest
  cp deploy/bootstrap build/lambda/     # runs: resingest lambda
  sam deploy --template-file deploy/template.yaml --guided

Under Lambda the configuration comes from the environment, as flags'
values: RESINGEST_<FLAG> (RESINGEST_PG_URL, RESINGEST_DYNAMO_TABLE, RESINGEST_SINKS,
RESINGEST_KMS_KEY_ID, RESINGEST_ARCHIVE_BUCKET, RESINGEST_BATCH_SIZE, ...).
Logs are JSON on stderr (CloudWatch Logs) unless --log-format is given.
Postgres migrations ('resingest db migrate') and the DynamoDB table are
created beforehand, not by the function.

For debugging, --event FILE ('-': standard input) runs one invocation on a
Kinesis event in the JSON that Lambda sends, with --timeout as its deadline,
prints the response ({"batchItemFailures":[...]}) on standard output and
exits.`,
		Example: `  eval "$(scripts/dev-services env)"
  resingest lambda --event lambdahandler/testdata/kinesis-event.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			return runLambda(cmd.Context(), &f, cmd)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.event, "event", "", "run one invocation on this Kinesis event JSON file ('-': stdin), print the response and exit")
	fl.DurationVar(&f.timeout, "timeout", time.Minute, "with --event: the invocation's deadline, as the function's timeout sets it under Lambda")
	fl.IntVar(&f.batchSize, "batch-size", lambdahandler.DefaultBatchSize, "most records written per store call; a failed call is retried one record at a time to find the record at fault")
	fl.DurationVar(&f.deadlineMargin, "deadline-margin", lambdahandler.DefaultDeadlineMargin, "stop writing this long before the invocation deadline and report the rest for retry")
	fl.StringVar(&f.mapping, "mapping", parse.AutoMapping, "parser mapping: auto, a built-in name, or a YAML file")
	fl.IntVar(&f.maxBytes, "max-bytes", parse.DefaultMaxBytes, "largest message accepted, in bytes")
	fl.DurationVar(&f.pendingTTL, "pending-ttl", pipeline.DefaultPendingTTL, "a record without a hotel code waits this long for a reservation with its confirmation, then an invocation dead-letters it as unresolved (0: never; a consume worker must sweep)")
	fl.DurationVar(&f.pendingSweep, "pending-sweep-interval", lambdahandler.DefaultPendingSweepInterval, "how often an execution environment dead-letters held records older than --pending-ttl, after an invocation's records")
	f.partitions.registerUpkeep(fl, 6*time.Hour)
	f.stores.register(cmd)
	return cmd
}

func runLambda(ctx context.Context, f *lambdaFlags, cmd *cobra.Command) error {
	if err := lambdaLogs(cmd); err != nil {
		return err
	}
	log := slog.Default()
	parser, err := parse.New(parse.Options{Mapping: f.mapping, Limits: parse.Limits{MaxBytes: f.maxBytes}})
	if err != nil {
		return err
	}
	h := lambdahandler.New(func(ctx context.Context) (lambdahandler.Processor, func(), error) {
		st, err := f.stores.open(ctx, log)
		if err != nil {
			return nil, nil, err
		}
		// No Prometheus registry: nothing scrapes a function; the handler
		// logs a summary line per invocation instead.
		proc, err := pipeline.NewProcessor(st.processorConfig(parser, nil, log))
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		return lambdaProcessor{proc, st.pg}, st.Close, nil
	}, lambdahandler.Options{BatchSize: f.batchSize, DeadlineMargin: f.deadlineMargin, Logger: log,
		PendingTTL: f.pendingTTL, PendingSweepInterval: f.pendingSweep,
		PartitionUpkeepInterval: f.partitions.every, PartitionsAhead: f.partitions.ahead})
	defer h.Close()

	if f.event != "" {
		ctx, cancel := context.WithTimeout(ctx, f.timeout)
		defer cancel()
		return runLambdaEvent(ctx, h, f.event, cmd)
	}
	if os.Getenv(lambdaRuntimeEnv) == "" {
		return fmt.Errorf("not running under AWS Lambda (%s is not set); use --event FILE to run one event locally", lambdaRuntimeEnv)
	}
	// Cold start: connect now, so the first invocation finds warm pools.
	// A failure is not fatal: the first invocation tries again and, if
	// it fails too, returns a function error that Lambda retries.
	if err := h.Open(ctx); err != nil {
		log.Error("opening the stores at cold start failed; retrying at the first invocation", "err", err)
	}
	log.Info("lambda function ready", "sinks", f.stores.sinks, "batch_size", f.batchSize)
	// Start returns only if the runtime API fails, and then exits the
	// process itself. On SIGTERM (environment shutdown) the pools close.
	lambda.StartWithOptions(h.Handle, lambda.WithContext(ctx), lambda.WithEnableSIGTERM(h.Close))
	return nil
}

// lambdaProcessor is the function's processor with the Postgres store's
// partition upkeep (lambdahandler.PartitionKeeper).
type lambdaProcessor struct {
	*pipeline.Processor
	pg *postgres.Sink
}

func (p lambdaProcessor) EnsurePartitions(ctx context.Context, now time.Time, ahead int) ([]string, error) {
	if p.pg == nil {
		return nil, nil
	}
	return p.pg.EnsurePartitions(ctx, now, ahead)
}

// lambdaLogs switches the logs to JSON (CloudWatch Logs parses it) unless
// the format was chosen explicitly.
func lambdaLogs(cmd *cobra.Command) error {
	format := cmd.Flag("log-format")
	if format == nil || format.Changed || os.Getenv(envName("log-format")) != "" {
		return nil
	}
	logs := logFlags{format: "json", level: cmd.Flag("log-level").Value.String()}
	return logs.install()
}

// runLambdaEvent runs one invocation on the event in path and prints the
// response as JSON.
func runLambdaEvent(ctx context.Context, h *lambdahandler.Handler, path string, cmd *cobra.Command) error {
	var in io.Reader = cmd.InOrStdin()
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("--event: %w", err)
		}
		defer file.Close()
		in = file
	}
	var ev events.KinesisEvent
	dec := json.NewDecoder(in)
	if err := dec.Decode(&ev); err != nil {
		return fmt.Errorf("--event %s: not a Kinesis event: %w", path, err)
	}
	if len(ev.Records) == 0 {
		return errors.New("--event: the event has no Records")
	}
	resp, err := h.Handle(ctx, ev)
	if err != nil {
		return err
	}
	out, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", out)
	return err
}
