package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/parse/coverage"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/pipeline/peek"
)

// runDryRun is 'consume --dry-run': it reads the source without leaving a
// trace (package peek), parses and validates every message, and prints the
// coverage report at the end. No store is opened.
func runDryRun(ctx context.Context, f *consumeFlags, cmd *cobra.Command) error {
	stderr := cmd.ErrOrStderr()
	p, err := parse.New(parse.Options{Mapping: f.mapping, Limits: parse.Limits{MaxBytes: f.maxBytes}})
	if err != nil {
		return cannotRun(stderr, err)
	}
	kind, name := f.sourceName()
	slog.Info("dry run: nothing is stored or committed", "source", kind, "source_name", name, "mapping", mappingNames(p))
	report := coverage.New()
	check := func(msgName string, msg []byte) { report.Check(p, msgName, msg) }
	switch f.source {
	case "file":
		err = peek.Files(ctx, f.path, f.maxBytes, check)
	case "kafka":
		err = peek.Kafka(ctx, peek.KafkaConfig{Brokers: f.brokers, Topic: f.topic, FromStart: f.fromStart}, f.exitWhenIdle, check)
	case "kinesis":
		client, cerr := pipeline.NewKinesisClient(ctx, f.kinesis.endpoint)
		if cerr != nil {
			return cannotRun(stderr, cerr)
		}
		err = peek.Kinesis(ctx, peek.KinesisConfig{Client: client, Stream: f.kinesis.stream,
			StartPosition: f.kinesis.startPosition, StartTimestamp: f.kinesis.startTime}, f.exitWhenIdle, check)
	}
	if err != nil && report.Totals().Messages == 0 {
		return cannotRun(stderr, err)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "dry run of %s %s with mapping %s (nothing stored or committed)\n", kind, name, mappingNames(p))
	if werr := report.Write(out); werr != nil {
		return werr
	}
	if err != nil {
		// What was read before the failure is reported above.
		return cannotRun(stderr, err)
	}
	return reportStatus(report)
}
