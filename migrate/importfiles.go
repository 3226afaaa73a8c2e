package migrate

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

// ImportDest is where import files go: a local directory (DirDest) or an
// S3 prefix (S3Dest). Implementations must be safe for concurrent use.
type ImportDest interface {
	// Put stores a whole file under name, replacing any file of that name;
	// a reader never sees half a file.
	Put(ctx context.Context, name string, data []byte) error
	// Names lists the files stored (names as given to Put).
	Names(ctx context.Context) ([]string, error)
	// Delete removes a file.
	Delete(ctx context.Context, name string) error
}

// Defaults of ExportOptions.
const (
	DefaultItemsPerFile = 50_000
	exportPageRows      = 2_000
	exportParallel      = 2 // files encoded and stored at once
)

// ExportOptions configure ExportImportFiles.
type ExportOptions struct {
	// ItemsPerFile caps the items of one file (DefaultItemsPerFile).
	ItemsPerFile int
	// Logger receives a line per file; nil discards them.
	Logger *slog.Logger
}

// Snapshotter opens a snapshot of the reservations Postgres holds
// (*postgres.Sink).
type Snapshotter interface {
	OpenSnapshot(ctx context.Context) (*postgres.Snapshot, error)
}

// ExportStats counts an export.
type ExportStats struct {
	Items int64
	Files int
}

// importFileName names the n-th file (from 1). Files hold consecutive
// key ranges in key order, so a repeated export of the same state writes
// the same keys under the same names.
func importFileName(n int) string { return fmt.Sprintf("part-%06d.json.gz", n) }

var importFilePattern = regexp.MustCompile(`^part-[0-9]{6}\.json\.gz$`)

// ExportImportFiles writes every reservation stored in Postgres, once, as
// gzip DynamoDB JSON files for DynamoDB's import from S3 (one
// {"Item": ...} line per item, the live sink's item layout;
// dynamo.EncodeItem). It writes the final state, after the backfill's
// merge: each key once, at the version the version guard kept (a newer
// live version included), which per-chunk files could not promise (a key
// merged by two chunks would be in two files, and an import does not say
// which line wins).
//
// All pages are read in one snapshot (postgres.Snapshot: one REPEATABLE
// READ transaction): the files are one state. Files of an earlier export beyond the last one written are
// deleted, so the prefix holds exactly this export. Re-running rewrites
// the same files.
func ExportImportFiles(ctx context.Context, pg Snapshotter, dest ImportDest, opts ExportOptions) (ExportStats, error) {
	var st ExportStats
	if opts.ItemsPerFile <= 0 {
		opts.ItemsPerFile = DefaultItemsPerFile
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	snap, err := pg.OpenSnapshot(ctx)
	if err != nil {
		return st, fmt.Errorf("migrate: export: %w", err)
	}
	defer snap.Close(ctx) // read only
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(exportParallel)
	now := time.Now()
	var after reservation.Key
	written := map[string]bool{}
	for done := false; !done && gctx.Err() == nil; {
		var recs []sinks.Record
		for len(recs) < opts.ItemsPerFile {
			page, err := snap.ReadPage(gctx, after, min(exportPageRows, opts.ItemsPerFile-len(recs)))
			if err != nil {
				_ = g.Wait()
				return st, fmt.Errorf("migrate: %w", err)
			}
			recs = append(recs, page...)
			if len(page) == 0 {
				done = true
				break
			}
			after = page[len(page)-1].Reservation.Key()
		}
		if len(recs) == 0 {
			break
		}
		st.Files++
		st.Items += int64(len(recs))
		name := importFileName(st.Files)
		written[name] = true
		g.Go(func() error {
			data, err := encodeImportFile(recs, now)
			if err != nil {
				return err
			}
			if err := dest.Put(gctx, name, data); err != nil {
				return fmt.Errorf("migrate: import file %s: %w", name, err)
			}
			logger.Info("import file written", "file", name, "items", len(recs), "bytes", len(data))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return st, err
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	names, err := dest.Names(ctx)
	if err != nil {
		return st, fmt.Errorf("migrate: list import files: %w", err)
	}
	for _, n := range names {
		if importFilePattern.MatchString(n) && !written[n] {
			if err := dest.Delete(ctx, n); err != nil {
				return st, fmt.Errorf("migrate: delete stale import file %s: %w", n, err)
			}
		}
	}
	return st, nil
}

// encodeImportFile is recs as one gzip DynamoDB JSON file.
func encodeImportFile(recs []sinks.Record, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	// BestSpeed: compression was the export's bottleneck; an import reads
	// any gzip level, and size matters little next to the time.
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // a valid level: no error
	var line []byte
	for i := range recs {
		item, err := dynamo.EncodeItem(&recs[i], dynamo.EmailGuestID, now)
		if err != nil {
			return nil, err
		}
		if line, err = appendImportLine(line[:0], item); err != nil {
			return nil, err
		}
		if _, err := zw.Write(line); err != nil {
			return nil, fmt.Errorf("migrate: import file: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("migrate: import file: %w", err)
	}
	return buf.Bytes(), nil
}
