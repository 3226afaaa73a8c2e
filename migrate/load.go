package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/postgres"
)

// reject is one malformed input row.
type reject struct {
	line   int64
	reason string
}

// chunk is what one merge transaction takes.
type chunk struct {
	rows    []row
	rejects []reject
	records int64  // input records consumed (rows + rejects)
	staged  []*row // newest's result
	// uniqueKeys: no other chunk of the load holds these keys (presort),
	// so copying them straight into the tables is worth trying
	// (postgres.ChunkWrite.TryDirect).
	uniqueKeys bool
}

// maxChunkAttempts bounds the retries of a chunk that lost a deadlock or a
// serialization conflict (with another worker or the live pipeline).
const maxChunkAttempts = 5

// loadFile loads one file on a connection of its own, resuming after its
// recorded progress.
func (m *Migrator) loadFile(ctx context.Context, src Source) error {
	path := src.Name
	sess, err := m.pg.OpenBackfillSession(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %s: connect: %w", path, err)
	}
	defer sess.Close()
	p, err := sess.StartFile(ctx, path, src.Size)
	if err != nil {
		return fmt.Errorf("migrate: %s: read progress: %w", path, err)
	}
	if p.Done {
		m.filesDone.Add(1)
		m.bytesRead.Add(src.Size)
		m.logger.Info("backfill file already loaded", "file", path, "rows", p.Rows, "rejects", p.Rejects)
		return nil
	}
	if p.Size != src.Size {
		return &FileChangedError{Path: path, Recorded: p.Size, Current: src.Size}
	}
	if err := sess.Prepare(ctx); err != nil {
		return fmt.Errorf("migrate: %s: %w", path, err)
	}
	in, err := openInput(ctx, src, &m.bytesRead)
	if err != nil {
		return err
	}
	defer in.Close()
	if p.Lines > 0 {
		m.logger.Info("backfill file resumed", "file", path, "records_done", p.Lines)
		for i := int64(0); i < p.Lines; i++ {
			var re *RowError
			if _, _, err := in.next(); err != nil && !errors.As(err, &re) {
				return fmt.Errorf("migrate: %s: skipping %d loaded records: %w", path, p.Lines, err)
			}
		}
	}
	for {
		c, eof, err := m.readChunk(in, m.opts.ChunkRows)
		if err != nil {
			return fmt.Errorf("migrate: %s: %w", path, err)
		}
		if c.records > 0 {
			next := p
			next.Rows += int64(len(c.rows))
			next.Lines += c.records
			next.Rejects += int64(len(c.rejects))
			done := postgres.FileProgress{Path: path, Rows: next.Rows, Lines: next.Lines, Rejects: next.Rejects}
			if err := m.commitChunk(ctx, sess, path, &c, done); err != nil {
				return err
			}
			p = next
			if m.opts.afterChunk != nil {
				m.opts.afterChunk(path, p.Lines)
			}
		}
		if eof {
			break
		}
	}
	if err := sess.FileDone(ctx, path); err != nil {
		return fmt.Errorf("migrate: %s: mark done: %w", path, err)
	}
	m.filesDone.Add(1)
	m.logger.Info("backfill file loaded", "file", path, "rows", p.Rows, "rejects", p.Rejects)
	return nil
}

// readChunk reads up to n records.
func (m *Migrator) readChunk(in *input, n int) (chunk, bool, error) {
	var c chunk
	for c.records < int64(n) {
		rec, line, err := in.next()
		var re *RowError
		switch {
		case errors.Is(err, io.EOF):
			return c, true, nil
		case errors.As(err, &re):
			c.records++
			c.rejects = append(c.rejects, reject{line, re.Error()})
			continue
		case err != nil:
			return c, false, err
		}
		c.records++
		r, rerr := parseRow(line, rec)
		if rerr != nil {
			c.rejects = append(c.rejects, reject{line, rerr.Error()})
			continue
		}
		c.rows = append(c.rows, r)
	}
	return c, false, nil
}

// commitChunk writes c (its rows, its rejects as lines of path, and its
// progress done) in one transaction, retrying lost deadlocks.
func (m *Migrator) commitChunk(ctx context.Context, sess *postgres.BackfillSession, path string, c *chunk, done postgres.BackfillProgress) error {
	rows, err := m.backfillRows(c)
	if err == nil {
		for attempt := 0; attempt < maxChunkAttempts; attempt++ {
			var applied int64
			applied, err = m.tryChunk(ctx, sess, path, c, rows, done)
			if err == nil {
				m.rows.Add(c.records - int64(len(c.rejects)))
				m.applied.Add(applied)
				m.rejects.Add(int64(len(c.rejects)))
				return nil
			}
			if !errors.Is(err, postgres.ErrTxConflict) {
				break
			}
			if werr := (sinks.Backoff{}).Wait(ctx, attempt); werr != nil {
				break
			}
		}
	}
	return fmt.Errorf("migrate: %s: chunk ending at line %d: %w", path, c.lastLine(), err)
}

// backfillRows protects the chunk's newest row per key (c.newest) and
// returns them as the store writes them.
func (m *Migrator) backfillRows(c *chunk) ([]postgres.BackfillRow, error) {
	if len(c.rows) == 0 {
		return nil, nil
	}
	staged := c.newest()
	rows := make([]postgres.BackfillRow, len(staged))
	for i, r := range staged {
		if err := r.protect(m.opts.Sealer); err != nil {
			return nil, err
		}
		r.backfillRow(&rows[i])
	}
	return rows, nil
}

// maxFreshMisses is how many chunks may find a key already stored before
// the load stops trying the direct COPY (every miss costs a wasted copy).
const maxFreshMisses = 3

// tryChunk runs one attempt at c's transaction (rows: its newest per key,
// protected): rows, rejects, progress, the DynamoDB items (batch mode),
// commit. It returns how many rows changed the store.
func (m *Migrator) tryChunk(ctx context.Context, sess *postgres.BackfillSession, path string, c *chunk, rows []postgres.BackfillRow, done postgres.BackfillProgress) (int64, error) {
	w := postgres.ChunkWrite{
		Rows:        rows,
		TryDirect:   c.uniqueKeys && m.freshMisses.Load() < maxFreshMisses,
		RejectsPath: path,
		Rejects:     backfillRejects(c.rejects),
		Progress:    done,
	}
	if m.dyn != nil {
		// DynamoDB before the commit: a crash in between redoes the chunk
		// instead of skipping its items (see the package comment).
		w.BeforeCommit = func(ctx context.Context, keys []reservation.Key) error {
			recs, err := c.recordsOf(keys)
			if err != nil {
				return err
			}
			return m.dyn.Write(ctx, recs)
		}
	}
	res, err := sess.WriteChunk(ctx, w)
	if res.DirectMissed {
		m.freshMisses.Add(1)
	}
	if err != nil {
		return 0, err
	}
	return int64(len(res.Keys)), nil
}

// backfillRejects are rejects as the store records them.
func backfillRejects(rejects []reject) []postgres.BackfillReject {
	if len(rejects) == 0 {
		return nil
	}
	out := make([]postgres.BackfillReject, len(rejects))
	for i, r := range rejects {
		out[i] = postgres.BackfillReject{Line: r.line, Reason: r.reason}
	}
	return out
}
