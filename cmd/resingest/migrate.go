package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/migrate"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

func init() { addCommand(newMigrateCmd) }

type migrateFlags struct {
	extractFlags
	format       string
	dynamoMode   string
	workers      int
	chunkRows    int
	rejects      string
	dynamoWCU    int
	importDir    string
	itemsPerFile int
	fkChecks     bool
	presort      bool
	spillDir     string
	runRows      int
	deferIndexes string
	refresh      bool
	keys         keyFlags // PII sealing as the stream does it
}

// extractFlags say where an extract is read and the stores it goes to;
// shared by 'migrate' and 'migrate verify'.
type extractFlags struct {
	from, pgURL, dynamoEndpoint, dynamoTable, s3Endpoint string
}

func (f *extractFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "directory or s3://bucket/prefix of the extract files (*.csv, *.csv.gz)")
	fl.StringVar(&f.pgURL, "pg-url", "", "Postgres URL (env RESINGEST_PG_URL)")
	fl.StringVar(&f.dynamoEndpoint, "dynamo-endpoint", "", "DynamoDB endpoint URL; empty: AWS's (env RESINGEST_DYNAMO_ENDPOINT)")
	fl.StringVar(&f.dynamoTable, "dynamo-table", dynamo.DefaultTable, "DynamoDB table")
	fl.StringVar(&f.s3Endpoint, "s3-endpoint", "", "S3 endpoint URL; empty: AWS's (env RESINGEST_S3_ENDPOINT)")
	_ = cmd.MarkFlagRequired("from") // cannot fail: the flag is defined above
}

func newMigrateCmd() *cobra.Command {
	var f migrateFlags
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Backfill reservations from an EDW extract into Postgres and DynamoDB",
		Long: `migrate loads an enterprise data warehouse extract: every *.csv and
*.csv.gz file in --from, a directory or s3://bucket/prefix (header row; columns as 'resingest gen edw' writes
them), one reservation per row, into Postgres and, with --dynamo-mode batch,
into DynamoDB (parallel BatchWriteItem of the rows Postgres applied).
Postgres: with --presort (the default) the extract is sorted by key first,
and each chunk of keys no table holds yet is copied straight into the tables
(binary COPY); a chunk that meets stored keys is copied into a staging table
and merged under the version guard instead. On an empty reservations table
the secondary indexes are dropped for the load and built when it ends
(--defer-indexes).

A row never replaces a newer version already stored (by the live pipeline or
a later row), so the backfill may run while the stream writes, and again.
Progress is committed per chunk: a stopped or killed migration, restarted
with the same command, continues where it stopped. Malformed rows never stop
the load; each is listed (file, line, reason: never the row's content) in
--rejects.

With --format xml, --from is a directory of XML messages (*.xml), or an S3
prefix of XML objects and archive objects (*.jsonl.gz, as the archive sink
writes them):
a message holds any number of room stays, guests and ids, so they go through
the live pipeline's processor (the same parsing, PII sealing with --kek-file
or --kms-key-id, version guard, audit and dead letters as 'consume'); a
re-run applies nothing twice. With --refresh, a stored reservation of the
same version as a message is rewritten from it too (a newer one still wins):
after an upgrade that extracts a new field (special_requests), re-reading
the archive fills it in for the reservations stored before.

With --dynamo-mode import-files, DynamoDB is not written: once every file is
loaded, every reservation Postgres holds is written once, from that final
state, as gzip DynamoDB JSON files (part-NNNNNN.json.gz) in --import-dir (a
directory or s3://bucket/prefix), ready for DynamoDB's import from S3 into a
new table (no write capacity used).

It applies the Postgres migrations and creates the DynamoDB table first when
they are missing. Examples:

  resingest migrate --from /data/edw --workers 4 --rejects rejects.csv
  resingest migrate --from /data/edw --dynamo-mode import-files --import-dir s3://bucket/import/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrate(cmd.Context(), f, cmd.ErrOrStderr())
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&f.refresh, "refresh", false, "with --format xml: also rewrite stored reservations of the same version (fills in a field added since they were stored)")
	fl.StringVar(&f.format, "format", "csv", "input format: csv (EDW extract) or xml (HTNG/OTA messages: *.xml, and in S3 also archive objects *.jsonl.gz, through the live pipeline's processor)")
	fl.StringVar(&f.dynamoMode, "dynamo-mode", "batch", "DynamoDB: batch (BatchWriteItem of applied rows), import-files (gzip DynamoDB JSON files for import from S3, written from the final Postgres state) or off")
	fl.StringVar(&f.importDir, "import-dir", "", "with --dynamo-mode import-files: a directory or s3://bucket/prefix for the files")
	fl.IntVar(&f.itemsPerFile, "import-items-per-file", migrate.DefaultItemsPerFile, "items per import file")
	fl.BoolVar(&f.presort, "presort", true, "load in key order: sort the extract into runs in --spill-dir first (as much disk as the uncompressed input), then merge (2x faster at 2 million rows); --presort=false loads file by file with per-file progress")
	fl.StringVar(&f.spillDir, "spill-dir", "", "directory for --presort's sorted runs (default: the system's temporary directory)")
	fl.IntVar(&f.runRows, "run-rows", migrate.DefaultRunRows, "rows per sorted run with --presort (held in memory by each worker)")
	fl.StringVar(&f.deferIndexes, "defer-indexes", string(migrate.IndexesAuto), "drop the reservation tables' secondary indexes (not their keys) for the load and build them once it ends, 3x cheaper than keeping them up to date row by row; lookups by confirmation, guest or itinerary scan meanwhile: auto (when the reservations table is empty at the start), always or never")
	fl.BoolVar(&f.fkChecks, "fk-checks", false, "no effect (the child tables have no foreign keys since migration 0012)")
	_ = fl.MarkDeprecated("fk-checks", "it has no effect since migration 0012: the child tables have no foreign keys")
	fl.IntVar(&f.workers, "workers", migrate.DefaultWorkers, "files loaded at once (one Postgres connection each)")
	fl.IntVar(&f.chunkRows, "chunk-rows", migrate.DefaultChunkRows, "rows per merge transaction")
	fl.StringVar(&f.rejects, "rejects", "", "write the malformed rows' file, line and reason to this CSV file")
	fl.IntVar(&f.dynamoWCU, "dynamo-wcu", 0, "cap on DynamoDB write units per second (0: none)")
	f.keys.register(cmd)
	cmd.AddCommand(newMigrateVerifyCmd())
	return cmd
}

func (f *migrateFlags) validate() error {
	switch {
	case f.format != "csv" && f.format != "xml":
		return fmt.Errorf("migrate: --format must be csv or xml, not %q", f.format)
	case f.format == "xml" && f.dynamoMode == "import-files":
		return errors.New("migrate: --format xml writes DynamoDB in batch mode or not at all (no import files yet)")
	case f.dynamoMode != "batch" && f.dynamoMode != "import-files" && f.dynamoMode != "off":
		return fmt.Errorf("migrate: --dynamo-mode must be batch, import-files or off, not %q", f.dynamoMode)
	case (f.dynamoMode == "import-files") != (f.importDir != ""):
		return errors.New("migrate: --import-dir goes with --dynamo-mode import-files, and only with it")
	case f.workers <= 0 || f.chunkRows <= 0:
		return errors.New("migrate: --workers and --chunk-rows must be positive")
	case f.refresh && f.format != "xml":
		return errors.New("migrate: --refresh applies to --format xml only (an EDW row is applied whenever it is newer)")
	case f.format == "xml" && f.deferIndexes != string(migrate.IndexesAuto):
		return errors.New("migrate: --defer-indexes applies to --format csv only")
	case f.pgURL == "":
		return errNoPGURL
	}
	return nil
}

func runMigrate(ctx context.Context, f migrateFlags, stderr io.Writer) error {
	if err := f.validate(); err != nil {
		return err
	}
	indexMode, err := migrate.ParseIndexMode(f.deferIndexes)
	if err != nil {
		return err
	}
	logger := slog.Default()
	if os.Getenv("GOGC") == "" {
		// The load allocates a short-lived string per field of every row;
		// collecting less often saves a tenth of the run's time (2 million
		// rows: 25.8 s -> 22.9 s) for about 1 GB more memory. GOGC set in
		// the environment wins.
		debug.SetGCPercent(migrate.GCPercent)
	}
	if f.format == "xml" {
		return runMigrateXML(ctx, f, logger)
	}
	srcs, err := migrateSources(ctx, f.from, f.s3Endpoint)
	if err != nil {
		return err
	}
	files := make([]string, len(srcs))
	for i, s := range srcs {
		files[i] = s.Name
	}
	if _, err := postgres.MigrateURL(ctx, f.pgURL); err != nil {
		return fmt.Errorf("migrate: schema: %w", err)
	}
	pg, err := openBackfillStore(ctx, f.pgURL, f.workers)
	if err != nil {
		return err
	}
	defer pg.Close()
	opts := migrate.Options{Workers: f.workers, ChunkRows: f.chunkRows, DynamoWCU: f.dynamoWCU,
		Presort: f.presort, SpillDir: f.spillDir, RunRows: f.runRows, DeferIndexes: indexMode, Logger: logger}
	if err := f.keys.validate(); err != nil {
		return err
	}
	// The guests' fields are sealed as the stream seals them (package pii).
	if f.keys.enabled() {
		keyStore, err := postgres.New(ctx, f.pgURL, postgres.Options{MaxConns: 1})
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer keyStore.Close()
		kr, err := f.keys.keyring(ctx, keyStore, logger)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		opts.Sealer = kr
	} else {
		logger.Warn("guest PII is stored unencrypted: set --kek-file or --kms-key-id")
	}
	if f.dynamoMode == "batch" {
		client, err := f.batchTable(ctx)
		if err != nil {
			return err
		}
		opts.Dynamo, opts.DynamoTable = client, f.dynamoTable
	}
	m := migrate.New(pg, opts)
	logger.Info("backfill started", "files", len(files), "workers", f.workers, "dynamo", f.dynamoMode)
	start := time.Now()
	stop := reportMigrateProgress(m, stderr, logger, start)
	st, runErr := m.RunSources(ctx, srcs)
	stop()
	secs := time.Since(start).Seconds()
	logger.Info("backfill finished", "ok", runErr == nil, "files_done", st.FilesDone, "files", st.Files,
		"rows", st.Rows, "applied", st.Applied, "rejects", st.Rejects,
		"seconds", fmt.Sprintf("%.1f", secs), "rows_per_second", fmt.Sprintf("%.0f", float64(st.Rows)/max(secs, 1e-9)))
	if f.rejects != "" {
		if err := writeRejectsFile(context.WithoutCancel(ctx), m, f.rejects, files, logger); err != nil && runErr == nil {
			runErr = err
		}
	} else if st.Rejects > 0 {
		logger.Warn("malformed rows were rejected; --rejects FILE lists them (they are kept in table backfill_rejects)", "rejects", st.Rejects)
	}
	if runErr != nil {
		return fmt.Errorf("%w (%s)", runErr, resumeHint(runErr))
	}
	if f.dynamoMode == "import-files" {
		return writeImportFiles(ctx, pg, f, logger)
	}
	return nil
}

// resumeHint tells what to do after a failed load: run it again, or,
// when the input itself is at fault, fix it first.
func resumeHint(err error) string {
	switch {
	case errors.Is(err, migrate.ErrHeader):
		return "fix or remove that file, then run the same command again: files done are skipped"
	case errors.Is(err, migrate.ErrFileChanged):
		return "a file changed while it was being loaded: restore it, or load the new version under another name"
	}
	return "run the same command again to resume"
}
