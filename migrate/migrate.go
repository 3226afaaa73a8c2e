package migrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

// Defaults of Options.
const (
	DefaultChunkRows = 20_000
	DefaultWorkers   = 2
	// DefaultDynamoParallel is how many BatchWriteItem calls one worker
	// keeps in flight.
	DefaultDynamoParallel = 8
	// GCPercent is the garbage collector setting (debug.SetGCPercent)
	// resingest migrate runs a CSV load with unless GOGC is set: rows
	// are many short-lived strings, and the default (100) collects so
	// often that it cost a tenth of the load.
	GCPercent = 400
)

// Options configure a Migrator.
type Options struct {
	// Workers is how many files load at once, one connection each.
	Workers int
	// ChunkRows is how many input records one merge transaction takes.
	ChunkRows int
	// Dynamo, when set, receives the rows the Postgres merge applied
	// (batch mode); nil leaves DynamoDB alone.
	Dynamo      dynamo.BatchWriter
	DynamoTable string
	// DynamoWCU caps the write units per second over all workers; 0 is
	// no cap.
	DynamoWCU int
	// DynamoParallel is the BatchWriteItem calls in flight per worker.
	DynamoParallel int
	// Presort loads the extract in key order (see presort.go): one pass
	// writes the rows as sorted runs to SpillDir (as much disk as the
	// uncompressed input), a second merges them into the stores. Faster
	// once the tables outgrow the database's buffer cache.
	Presort bool
	// SpillDir holds the runs; "" is the system's temporary directory.
	SpillDir string
	// RunRows is the rows of one sorted run (DefaultRunRows); a worker
	// holds that many rows in memory.
	RunRows int
	// Sealer, when set, encrypts each row's guest fields before they reach
	// a store, with blind indexes, as the stream does (pii.Keyring); nil
	// stores them plain (indexed by their normalised values).
	Sealer GuestSealer
	// DeferIndexes says when the load drops the reservation tables'
	// secondary indexes and builds them when it ends (indexes.go); ""
	// is IndexesAuto.
	DeferIndexes IndexMode
	// Logger receives per-file lines; nil discards them.
	Logger *slog.Logger
	// afterChunk, for tests, runs after each committed chunk.
	afterChunk func(path string, linesDone int64)
}

// GuestSealer seals guests' personal fields (pii.Keyring).
type GuestSealer interface {
	SealGuests(guests []reservation.Guest) ([]reservation.Guest, []pii.GuestIndex, error)
}

// Stats counts a run's work; Migrator.Stats reads it while the run goes.
type Stats struct {
	Files      int   // input files of the run
	FilesDone  int   // files finished (including those finished by an earlier run)
	Rows       int64 // well-formed rows merged by this run
	Applied    int64 // rows that changed the store (newer than what it held)
	Rejects    int64 // malformed rows found by this run
	BytesTotal int64 // input size (compressed for .gz)
	BytesRead  int64 // input read so far
}

// Migrator loads EDW extracts. Run may be called again (a re-run resumes);
// Stats is safe to call concurrently with Run.
type Migrator struct {
	pg     *postgres.Sink
	opts   Options
	dyn    *dynamo.BatchLoader
	logger *slog.Logger
	// freshMisses counts chunks whose direct COPY met a stored key.
	freshMisses atomic.Int64

	files, filesDone       atomic.Int64
	rows, applied, rejects atomic.Int64
	bytesTotal, bytesRead  atomic.Int64
	// Presort's load pass: input size, runs' size and bytes merged.
	presortInput, spillTotal, spillRead atomic.Int64
}

// New returns a Migrator writing through pg, whose pool should allow at
// least Workers connections (one more for the statements outside the
// workers' chunks). The schema must be migrated (0002_backfill).
func New(pg *postgres.Sink, opts Options) *Migrator {
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = DefaultChunkRows
	}
	if opts.DeferIndexes == "" {
		opts.DeferIndexes = IndexesAuto
	}
	if opts.DynamoParallel <= 0 {
		opts.DynamoParallel = DefaultDynamoParallel
	}
	m := &Migrator{pg: pg, opts: opts, logger: opts.Logger}
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	if opts.Dynamo != nil {
		m.dyn = dynamo.NewBatchLoader(opts.Dynamo, opts.DynamoTable, opts.DynamoParallel, opts.DynamoWCU)
	}
	return m
}

// Stats returns the counts so far.
func (m *Migrator) Stats() Stats {
	return Stats{
		Files: int(m.files.Load()), FilesDone: int(m.filesDone.Load()),
		Rows: m.rows.Load(), Applied: m.applied.Load(), Rejects: m.rejects.Load(),
		BytesTotal: m.bytesTotal.Load(), BytesRead: m.bytesRead.Load() + m.mergedInputBytes(),
	}
}

// mergedInputBytes is the load pass's progress in input bytes: the share
// of the runs merged so far.
func (m *Migrator) mergedInputBytes() int64 {
	total := m.spillTotal.Load()
	if total == 0 {
		return 0
	}
	return int64(float64(m.presortInput.Load()) * float64(m.spillRead.Load()) / float64(total))
}

// Run is RunSources over local files.
func (m *Migrator) Run(ctx context.Context, files []string) (Stats, error) {
	srcs, err := LocalSources(files)
	if err != nil {
		return m.Stats(), err
	}
	return m.RunSources(ctx, srcs)
}

// RunSources loads srcs, Workers at a time (or, with Presort, all of them
// in key order), and returns when all are loaded or the first fails (the
// others stop at their next chunk). Progress is committed chunk by chunk:
// after an error or a cancelled ctx, a run over the same sources
// continues where this one stopped.
func (m *Migrator) RunSources(ctx context.Context, srcs []Source) (Stats, error) {
	deferred, err := m.deferIndexes(ctx)
	if err != nil {
		return m.Stats(), err
	}
	err = m.load(ctx, srcs)
	if err == nil {
		err = m.BuildDeferredIndexes(ctx)
	} else if deferred > 0 {
		m.logger.Warn("the reservation tables' secondary indexes are still dropped: run the same migrate command again to finish the load and build them", "indexes", deferred)
	}
	return m.Stats(), err
}

// load is RunSources without the deferred indexes.
func (m *Migrator) load(ctx context.Context, srcs []Source) error {
	for _, s := range srcs {
		m.bytesTotal.Add(s.Size)
	}
	m.files.Add(int64(len(srcs)))
	if m.opts.Presort {
		// Progress counts the input twice: read by the sort pass, then
		// (as the runs' bytes merged) by the load pass.
		m.presortInput.Store(m.bytesTotal.Load())
		m.bytesTotal.Add(m.bytesTotal.Load())
		err := m.runPresorted(ctx, srcs)
		if err == nil {
			err = ctx.Err()
			m.filesDone.Add(int64(len(srcs)))
		}
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.opts.Workers)
	for _, src := range srcs {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return m.loadFile(gctx, src) })
	}
	err := g.Wait()
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// ErrFileChanged is wrapped when a file's size differs from the one its
// recorded progress was made on: resuming would skip the wrong lines.
var ErrFileChanged = errors.New("migrate: input file changed since its load began")

// FileChangedError reports a changed input file.
type FileChangedError struct {
	Path              string
	Recorded, Current int64
}

func (e *FileChangedError) Error() string {
	return fmt.Sprintf("migrate: %s is %d bytes, its recorded load began at %d bytes", e.Path, e.Current, e.Recorded)
}

func (e *FileChangedError) Unwrap() error { return ErrFileChanged }
