package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/resingest/resingest/sinks/postgres"
)

// Presort (Options.Presort) loads the extract in key order. Loading files
// as they come inserts keys at random places of every index: once the
// tables outgrow the buffer cache each chunk dirties (and the server
// writes back) nearly every index page, and the load slows as the tables
// grow (measured: 44,000 rows/s at 200,000 rows, 23,000-29,000 at 2
// million). In key order, consecutive chunks touch neighbouring pages
// (47,000 rows/s at 2 million rows from files already in key order; 44,000
// with this presort of unordered files, its sort pass included).
//
// Pass 1 reads every input file once (Workers at a time), records its
// malformed rows (idempotently: backfill_rejects' key is file and line)
// and writes its well-formed rows as sorted runs of RunRows rows to a
// spill directory. Pass 2 merges the runs into one stream in key order,
// keeps the newest row per key, cuts it into chunks of ChunkRows keys and
// merges them, Workers at a time, exactly as the file-by-file load does.
//
// Resuming: the chunks are numbered, and each records itself as done in
// its own transaction under a name derived from the input set (paths and
// sizes). Both passes are deterministic, so a restarted run rebuilds the
// same chunks (from the runs left on disk of the files whose sort had
// finished, sorting the others again) and skips those done. A changed input set is a new set: its
// load starts over (the version guard keeps that correct).

// DefaultRunRows is how many rows one sorted run holds (Options.RunRows).
const DefaultRunRows = 100_000

// presortSet names an input set loaded into database db: its chunks'
// progress rows are "presort:<set>/chunk-NNNNNNNN", its runs in
// "resingest-presort-<set>" (so loads of the same files into two databases
// do not share runs).
func presortSet(db string, srcs []Source) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00", db)
	for _, s := range srcs {
		fmt.Fprintf(h, "%s\x00%d\x00", s.Name, s.Size)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func chunkName(set string, n int) string { return fmt.Sprintf("presort:%s/chunk-%08d", set, n) }

// runPresorted is Run with Options.Presort.
func (m *Migrator) runPresorted(ctx context.Context, srcs []Source) error {
	db, err := m.pg.SchemaName(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	set := presortSet(db, srcs)
	// One directory per input set, so one migration of a set at a time.
	// Its runs outlive a stopped or killed run: the next run of the same
	// set reuses those of every file whose sort had finished (its
	// manifest), and only the run that completes the load removes them.
	spill := m.opts.SpillDir
	if spill == "" {
		spill = os.TempDir()
	}
	dir := filepath.Join(spill, "resingest-presort-"+set)
	runs, err := m.sortPass(ctx, srcs, dir)
	if err != nil {
		return err
	}
	done, err := m.pg.BackfillDone(ctx, "presort:"+set+"/")
	if err != nil {
		return fmt.Errorf("migrate: read progress: %w", err)
	}
	mr, err := openRuns(runs, &m.spillTotal, &m.spillRead)
	if err != nil {
		return err
	}
	defer mr.close()
	if err := m.loadMerged(ctx, set, mr, done); err != nil {
		return err
	}
	mr.close()
	if err := removeSpill(dir); err != nil {
		m.logger.Warn("spill directory left behind", "dir", dir, "err", err)
	}
	return nil
}

// removeSpill deletes the spill directory of a finished load, its
// manifests first: a run killed in the middle leaves run files without a
// manifest (sorted again, or removed as stale, by the next run of the
// set), never a manifest naming a deleted run.
func removeSpill(dir string) error {
	manifests, err := filepath.Glob(filepath.Join(dir, "file-*.runs"))
	if err != nil {
		return err
	}
	for _, f := range manifests {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	return os.RemoveAll(dir)
}

// manifestName names the manifest of input file idx in a spill
// directory: the list of its runs, written once they all are.
func manifestName(idx int) string { return fmt.Sprintf("file-%06d.runs", idx) }

// readManifest returns the runs of input file idx sorted before into dir,
// or an error when there is no manifest or a run it names is gone (a
// directory half removed by a killed run, or by hand): the file is then
// sorted again.
func readManifest(dir string, idx int) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName(idx)))
	if err != nil {
		return nil, err
	}
	var runs []string
	for _, name := range strings.Fields(string(b)) {
		run := filepath.Join(dir, name)
		if _, err := os.Stat(run); err != nil {
			return nil, err
		}
		runs = append(runs, run)
	}
	return runs, nil
}

// sortPass writes the sorted runs of srcs into dir, reusing those of the
// files sorted by an earlier run of the same set. Each file's manifest is
// renamed into place after its runs are written: a file without one is
// sorted again.
func (m *Migrator) sortPass(ctx context.Context, srcs []Source, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("migrate: spill directory: %w", err)
	}
	perFile := make([][]string, len(srcs))
	var reused atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.opts.Workers)
	for i, src := range srcs {
		g.Go(func() error {
			if runs, err := readManifest(dir, i); err == nil {
				perFile[i] = runs
				m.bytesRead.Add(src.Size)
				reused.Add(1)
				return nil
			}
			stale, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf("run-%06d-*", i)))
			for _, f := range stale {
				if err := os.Remove(f); err != nil {
					return fmt.Errorf("migrate: spill: %w", err)
				}
			}
			runs, err := m.spill(gctx, i, src, dir)
			if err != nil {
				return err
			}
			perFile[i] = runs
			return writeManifest(dir, i, runs)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	runs := slices.Concat(perFile...)
	m.logger.Info("backfill presorted", "files", len(srcs), "files_sorted_before", reused.Load(), "runs", len(runs))
	return runs, nil
}

// writeManifest records the runs of input file idx (atomically: renamed
// into place).
func writeManifest(dir string, idx int, runs []string) error {
	var b strings.Builder
	for _, r := range runs {
		b.WriteString(filepath.Base(r) + "\n")
	}
	name := filepath.Join(dir, manifestName(idx))
	if err := os.WriteFile(name+".tmp", []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("migrate: spill manifest: %w", err)
	}
	if err := os.Rename(name+".tmp", name); err != nil {
		return fmt.Errorf("migrate: spill manifest: %w", err)
	}
	return nil
}

// numbered is a chunk of the merged stream and its number.
type numbered struct {
	n int
	c chunk
}

// loadMerged cuts the merged stream into chunks and loads those not done
// on Workers connections.
func (m *Migrator) loadMerged(ctx context.Context, set string, mr *runMerger, done map[string]bool) error {
	g, gctx := errgroup.WithContext(ctx)
	work := make(chan numbered)
	for range m.opts.Workers {
		g.Go(func() error { return m.chunkWorker(gctx, set, work) })
	}
	g.Go(func() error {
		defer close(work)
		for n := 0; ; n++ {
			c, err := mr.nextChunk(m.opts.ChunkRows)
			if err != nil {
				return err
			}
			if c.records == 0 {
				return nil
			}
			if done[chunkName(set, n)] {
				continue
			}
			select {
			case work <- numbered{n, c}:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
	})
	return g.Wait()
}

// chunkWorker merges chunks on a connection of its own.
func (m *Migrator) chunkWorker(ctx context.Context, set string, work <-chan numbered) error {
	sess, err := m.pg.OpenBackfillSession(ctx)
	if err != nil {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	defer sess.Close()
	if err := sess.Prepare(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for nc := range work {
		name := chunkName(set, nc.n)
		if err := m.commitChunk(ctx, sess, name, &nc.c, postgres.PresortChunkDone{Name: name, Records: nc.c.records}); err != nil {
			return err
		}
		if m.opts.afterChunk != nil {
			m.opts.afterChunk(name, nc.c.records)
		}
	}
	return nil
}

// spill reads input file idx and writes its well-formed rows as sorted
// runs in dir; it records the malformed ones. It returns the runs' paths.
func (m *Migrator) spill(ctx context.Context, idx int, src Source, dir string) ([]string, error) {
	path := src.Name
	in, err := openInput(ctx, src, &m.bytesRead)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	runRows := m.opts.RunRows
	if runRows <= 0 {
		runRows = DefaultRunRows
	}
	var runs []string
	for {
		c, eof, err := m.readChunk(in, runRows)
		if err != nil {
			return nil, fmt.Errorf("migrate: %s: %w", path, err)
		}
		if len(c.rejects) > 0 {
			if err := m.recordRejects(ctx, path, c.rejects); err != nil {
				return nil, err
			}
		}
		if len(c.rows) > 0 {
			name := filepath.Join(dir, fmt.Sprintf("run-%06d-%06d.csv", idx, len(runs)))
			if err := writeRun(name, idx, c.rows); err != nil {
				return nil, err
			}
			runs = append(runs, name)
		}
		if eof {
			return runs, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// recordRejects stores rejects of path outside any chunk: their key (file,
// line) makes a second recording of the same row a no-op.
func (m *Migrator) recordRejects(ctx context.Context, path string, rejects []reject) error {
	n, err := m.pg.RecordBackfillRejects(ctx, path, backfillRejects(rejects))
	if err != nil {
		return fmt.Errorf("migrate: %s: record rejects: %w", path, err)
	}
	m.rejects.Add(n)
	return nil
}
