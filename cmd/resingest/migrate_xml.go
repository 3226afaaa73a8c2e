package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/resingest/resingest/migrate"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/sinks/archive"
	"github.com/resingest/resingest/sinks/postgres"
)

// xmlBatch is how many messages one processor batch takes (as consume's
// default).
const xmlBatch = 500

// runMigrateXML backfills a directory of archived XML messages. An XML
// message carries any number of room stays, guests and ids, which the EDW
// staging table cannot hold, so the messages go through the live
// pipeline's processor (pipeline.RunFiles): the same parsing, PII sealing,
// version guard, audit and dead letters as the stream. Re-running is safe:
// each file has a stable position, so nothing is applied twice.
func runMigrateXML(ctx context.Context, f migrateFlags, log *slog.Logger) error {
	sinkNames := []string{"postgres"}
	if f.dynamoMode == "batch" {
		sinkNames = append(sinkNames, "dynamo")
	}
	sf := storeFlags{sinks: sinkNames, pgURL: f.pgURL, pgMaxConns: int32(f.workers + 2),
		dynamoEndpoint: f.dynamoEndpoint, dynamoTable: f.dynamoTable, s3Endpoint: f.s3Endpoint, keys: f.keys,
		rewriteEqual: f.refresh}
	if err := sf.validate(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := postgres.MigrateURL(ctx, f.pgURL); err != nil {
		return fmt.Errorf("migrate: schema: %w", err)
	}
	if f.dynamoMode == "batch" {
		if _, err := f.batchTable(ctx); err != nil {
			return err
		}
	}
	parser, err := parse.New(parse.Options{Limits: parse.Limits{MaxBytes: parse.DefaultMaxBytes}})
	if err != nil {
		return err
	}
	st, err := sf.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	metrics := pipeline.NewMetrics(prometheus.NewRegistry())
	proc, err := pipeline.NewProcessor(st.processorConfig(parser, metrics, log))
	if err != nil {
		return err
	}
	var total, dead atomic.Int64
	onBatch := func(outcomes []pipeline.Outcome) {
		total.Add(int64(len(outcomes)))
		for _, o := range outcomes {
			if o == pipeline.OutcomeDeadLettered {
				dead.Add(1)
			}
		}
		log.Info("backfill progress", "messages", total.Load(), "dead_lettered", dead.Load())
	}
	start := time.Now()
	opts := pipeline.RunOptions{Logger: log, Metrics: metrics, OnBatch: onBatch}
	if migrate.IsS3URL(f.from) {
		var sealer archive.Sealer
		if st.keyring != nil {
			sealer = st.keyring
		}
		err = runMigrateXMLFromS3(ctx, f, proc, sealer, opts)
	} else {
		err = pipeline.RunFiles(ctx, f.from, xmlBatch, parse.DefaultMaxBytes, proc, opts)
	}
	secs := time.Since(start).Seconds()
	log.Info("backfill finished", "format", "xml", "ok", err == nil, "messages", total.Load(),
		"dead_lettered", dead.Load(), "seconds", fmt.Sprintf("%.1f", secs),
		"messages_per_second", fmt.Sprintf("%.0f", float64(total.Load())/max(secs, 1e-9)))
	if err != nil {
		return fmt.Errorf("migrate: %w (run the same command again: files done are not applied twice)", err)
	}
	return nil
}

// runMigrateXMLFromS3 processes the XML and archive objects under an S3
// prefix (migrate.S3Source) batch by batch.
func runMigrateXMLFromS3(ctx context.Context, f migrateFlags, proc *pipeline.Processor, sealer archive.Sealer, opts pipeline.RunOptions) error {
	u, err := migrate.ParseS3URL(f.from)
	if err != nil {
		return err
	}
	client, err := archive.NewClient(ctx, f.s3Endpoint)
	if err != nil {
		return err
	}
	return pipeline.Drain(ctx, migrate.NewS3Source(client, u, xmlBatch, parse.DefaultMaxBytes, sealer), proc, opts)
}
