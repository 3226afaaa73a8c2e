package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/resingest/resingest/migrate"
	"github.com/resingest/resingest/sinks/archive"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

// writeImportFiles writes the DynamoDB import files once every input file
// is loaded: from the final state, each key once.
func writeImportFiles(ctx context.Context, pg *postgres.Sink, f migrateFlags, logger *slog.Logger) error {
	var dest migrate.ImportDest = migrate.DirDest{Dir: f.importDir}
	if migrate.IsS3URL(f.importDir) {
		u, err := migrate.ParseS3URL(f.importDir)
		if err != nil {
			return err
		}
		client, err := archive.NewClient(ctx, f.s3Endpoint)
		if err != nil {
			return err
		}
		dest = migrate.S3Dest{Client: client, URL: u}
	}
	start := time.Now()
	st, err := migrate.ExportImportFiles(ctx, pg, dest, migrate.ExportOptions{ItemsPerFile: f.itemsPerFile, Logger: logger})
	if err != nil {
		return fmt.Errorf("%w (run the same command again: loaded files are skipped, the import files rewritten)", err)
	}
	secs := time.Since(start).Seconds()
	logger.Info("import files written", "dest", f.importDir, "files", st.Files, "items", st.Items,
		"seconds", fmt.Sprintf("%.1f", secs), "items_per_second", fmt.Sprintf("%.0f", float64(st.Items)/max(secs, 1e-9)))
	return nil
}

func writeRejectsFile(ctx context.Context, m *migrate.Migrator, path string, files []string, logger *slog.Logger) error {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("migrate: rejects: %w", err)
	}
	n, err := m.WriteRejects(ctx, out, files)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	logger.Info("rejects written", "file", path, "rejects", n)
	return nil
}

// openBackfillStore opens the backfill's store: a connection per worker
// and one more, whose sessions commit synchronously (postgres.New opens
// its pool with postgres.ParsePoolConfig) so that rows and progress a run
// reports loaded survive a server crash. No AttemptTimeout: a chunk's
// statements and an index build may run long.
func openBackfillStore(ctx context.Context, url string, workers int) (*postgres.Sink, error) {
	pg, err := postgres.New(ctx, url, postgres.Options{MaxConns: int32(workers + 1)})
	if errors.Is(err, postgres.ErrInvalidURL) {
		return nil, err // says no more: the parse error may quote the password
	}
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return pg, nil
}

// batchTable opens the DynamoDB client of --dynamo batch and creates the
// table when it is missing.
func (f *migrateFlags) batchTable(ctx context.Context) (*dynamodb.Client, error) {
	client, err := dynamo.NewClient(ctx, f.dynamoEndpoint)
	if err != nil {
		return nil, err
	}
	if err := dynamo.EnsureTable(ctx, client, f.dynamoTable); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return client, nil
}
