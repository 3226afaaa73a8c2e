package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/sinks/archive"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

// storeFlags select and connect the sinks; shared by every command that
// writes reservations.
type storeFlags struct {
	sinks          []string
	pgURL          string
	pgMaxConns     int32
	dynamoEndpoint string
	dynamoTable    string
	s3Endpoint     string
	archiveBucket  string
	archiveKMSKey  string
	// storeTimeout bounds each attempt of a store call (0: the stores'
	// defaults, no Postgres bound).
	storeTimeout time.Duration
	keys         keyFlags
	// rewriteEqual opens the stores in refresh mode (the stores'
	// RewriteEqual): migrate --format xml --refresh.
	rewriteEqual bool
}

var knownSinks = []string{"postgres", "dynamo", "archive"}

func (f *storeFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.sinks, "sinks", []string{"postgres", "dynamo"}, "stores to write: postgres, dynamo, archive (archive is added when --archive-bucket is set); the audit trail and dead letters always go to Postgres")
	fl.StringVar(&f.pgURL, "pg-url", "", "Postgres URL (env RESINGEST_PG_URL)")
	fl.Int32Var(&f.pgMaxConns, "pg-max-conns", 8, "most Postgres connections of this worker")
	fl.StringVar(&f.dynamoEndpoint, "dynamo-endpoint", "", "DynamoDB endpoint URL; empty: AWS's (env RESINGEST_DYNAMO_ENDPOINT)")
	fl.StringVar(&f.dynamoTable, "dynamo-table", dynamo.DefaultTable, "DynamoDB table")
	fl.StringVar(&f.s3Endpoint, "s3-endpoint", "", "S3 endpoint URL; empty: AWS's (env RESINGEST_S3_ENDPOINT)")
	fl.StringVar(&f.archiveBucket, "archive-bucket", "", "S3 bucket for the raw-message archive; empty: no archive")
	fl.StringVar(&f.archiveKMSKey, "archive-kms-key-id", "", "KMS key for the archive's S3 server-side encryption (SSE-KMS); empty: SSE-S3")
	fl.DurationVar(&f.storeTimeout, "store-timeout", defaultStoreTimeout, "deadline of each attempt of a store call (Postgres statement, DynamoDB request, S3 put): a frozen or unreachable store fails the attempt, which is retried")
	f.keys.register(cmd)
}

func (f *storeFlags) validate() error {
	for _, s := range f.sinks {
		if !slices.Contains(knownSinks, s) {
			return fmt.Errorf("--sinks: unknown sink %q (known: %s)", s, strings.Join(knownSinks, ", "))
		}
	}
	if f.archiveBucket != "" && !slices.Contains(f.sinks, "archive") {
		f.sinks = append(f.sinks, "archive")
	}
	if slices.Contains(f.sinks, "archive") && f.archiveBucket == "" {
		return errors.New("--sinks archive needs --archive-bucket")
	}
	if f.storeTimeout < 0 {
		return errors.New("--store-timeout must be >= 0")
	}
	if f.pgURL == "" {
		return errors.New("--pg-url (or RESINGEST_PG_URL) is required: the audit trail and dead letters live in Postgres")
	}
	return f.keys.validate()
}

// openStores holds the connected sinks of a worker.
type openStores struct {
	names   []string
	pg      *postgres.Sink
	dyn     *dynamo.Sink
	archive *pipeline.NamedSink
	// arch is the archive's sink itself (nil without --archive-bucket), for
	// readers such as the console.
	arch *archive.Sink
	// deadLetters keeps the whole message of large dead letters (the
	// archive, when on).
	deadLetters pipeline.DeadLetterArchive
	stores      []pipeline.NamedSink
	ledger      pipeline.Ledger
	keyring     *pii.Keyring // nil: PII stored plain
	closers     []func()
}

// Close closes every sink; it may be called more than once.
func (s *openStores) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// processorConfig is the pipeline configuration every worker command
// (consume, lambda) builds its Processor from, so they write the same way.
func (s *openStores) processorConfig(parser pipeline.Parser, metrics *pipeline.Metrics, log *slog.Logger) pipeline.Config {
	cfg := pipeline.Config{
		Parser: parser, Archive: s.archive, Stores: s.stores, Ledger: s.ledger,
		Metrics: metrics, Logger: log, DeadLetterArchive: s.deadLetters,
	}
	if s.keyring != nil {
		cfg.Sealer = s.keyring
	}
	if slices.Contains(s.names, "postgres") {
		// Key resolution looks reservations up where Postgres stores them.
		cfg.Resolver = s.pg
	}
	return cfg
}

func (f *storeFlags) open(ctx context.Context, log *slog.Logger) (*openStores, error) {
	st := &openStores{names: f.sinks}
	pg, err := postgres.New(ctx, f.pgURL, postgres.Options{MaxConns: f.pgMaxConns, AttemptTimeout: f.storeTimeout, RewriteEqual: f.rewriteEqual})
	if err != nil {
		return nil, err
	}
	st.pg, st.ledger = pg, pg
	st.closers = append(st.closers, pg.Close)
	if st.keyring, err = f.keys.keyring(ctx, pg, log); err != nil {
		st.Close()
		return nil, err
	}
	if slices.Contains(f.sinks, "postgres") {
		st.stores = append(st.stores, pipeline.NamedSink{Name: "postgres", Sink: pg})
	}
	if slices.Contains(f.sinks, "dynamo") {
		client, err := dynamo.NewClient(ctx, f.dynamoEndpoint)
		if err != nil {
			st.Close()
			return nil, err
		}
		st.dyn = dynamo.New(client, dynamo.Options{Table: f.dynamoTable, Logger: log, AttemptTimeout: f.storeTimeout, MaxAttempts: f.dynamoAttempts(),
			RewriteEqual: f.rewriteEqual})
		st.closers = append(st.closers, func() { _ = st.dyn.Close() })
		st.stores = append(st.stores, pipeline.NamedSink{Name: "dynamo", Sink: st.dyn})
	}
	if slices.Contains(f.sinks, "archive") {
		opts := archive.Options{Bucket: f.archiveBucket, KMSKeyID: f.archiveKMSKey, AttemptTimeout: f.storeTimeout}
		if st.keyring != nil {
			opts.Sealer = st.keyring
		}
		a, closeArchive, err := openArchive(ctx, f.s3Endpoint, opts)
		if err != nil {
			st.Close()
			return nil, err
		}
		st.archive = &pipeline.NamedSink{Name: "archive", Sink: a}
		st.deadLetters, st.arch = a, a
		st.closers = append(st.closers, closeArchive)
	}
	return st, nil
}
