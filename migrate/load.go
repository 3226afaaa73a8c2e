package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// fileProgress is a file's row of backfill_files.
type fileProgress struct {
	size, rows, lines, rejects int64
	status                     string
}

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
	// so copying them straight into the tables is worth trying (copyFresh).
	uniqueKeys bool
}

// maxChunkAttempts bounds the retries of a chunk that lost a deadlock or a
// serialization conflict (with another worker or the live pipeline).
const maxChunkAttempts = 5

// loadFile loads one file on a connection of its own, resuming after its
// recorded progress.
func (m *Migrator) loadFile(ctx context.Context, src Source) error {
	path := src.Name
	conn, err := m.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %s: connect: %w", path, err)
	}
	defer conn.Release()
	var p fileProgress
	if err := conn.QueryRow(ctx, fileStartSQL, path, src.Size).Scan(&p.size, &p.rows, &p.lines, &p.rejects, &p.status); err != nil {
		return fmt.Errorf("migrate: %s: read progress: %w", path, err)
	}
	if p.status == "done" {
		m.filesDone.Add(1)
		m.bytesRead.Add(src.Size)
		m.logger.Info("backfill file already loaded", "file", path, "rows", p.rows, "rejects", p.rejects)
		return nil
	}
	if p.size != src.Size {
		return &FileChangedError{Path: path, Recorded: p.size, Current: src.Size}
	}
	fast, err := m.prepareSession(ctx, conn)
	if err != nil {
		return fmt.Errorf("migrate: %s: %w", path, err)
	}
	in, err := openInput(ctx, src, &m.bytesRead)
	if err != nil {
		return err
	}
	defer in.Close()
	if p.lines > 0 {
		m.logger.Info("backfill file resumed", "file", path, "records_done", p.lines)
		for i := int64(0); i < p.lines; i++ {
			var re *RowError
			if _, _, err := in.next(); err != nil && !errors.As(err, &re) {
				return fmt.Errorf("migrate: %s: skipping %d loaded records: %w", path, p.lines, err)
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
			next.rows += int64(len(c.rows))
			next.lines += c.records
			next.rejects += int64(len(c.rejects))
			done := progressStmt{progressSQL, []any{path, next.rows, next.lines, next.rejects}}
			if err := m.commitChunk(ctx, conn, path, &c, done, fast); err != nil {
				return err
			}
			p = next
			if m.opts.afterChunk != nil {
				m.opts.afterChunk(path, p.lines)
			}
		}
		if eof {
			break
		}
	}
	if _, err := conn.Exec(ctx, fileDoneSQL, path); err != nil {
		return fmt.Errorf("migrate: %s: mark done: %w", path, err)
	}
	m.filesDone.Add(1)
	m.logger.Info("backfill file loaded", "file", path, "rows", p.rows, "rejects", p.rejects)
	return nil
}

// prepareSession creates a worker connection's staging tables and tells
// whether its chunks may run without triggers.
func (m *Migrator) prepareSession(ctx context.Context, conn *pgxpool.Conn) (bool, error) {
	for _, ddl := range []string{sessionSQL, createStageSQL, createUpdatedSQL} {
		if _, err := conn.Exec(ctx, ddl); err != nil {
			return false, fmt.Errorf("staging table: %w", err)
		}
	}
	if m.opts.FKChecks {
		return false, nil
	}
	fast, err := triggersSkippable(ctx, conn)
	if err != nil {
		return false, err
	}
	if !fast {
		m.fkWarn.Do(func() {
			m.logger.Warn("the load checks foreign keys row by row (slower): the role may not set session_replication_role")
		})
	}
	return fast, nil
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

// progressStmt records a chunk as done, in the chunk's transaction.
type progressStmt struct {
	sql  string
	args []any
}

// commitChunk merges c and records its rejects (as lines of path) and its
// progress in one transaction, retrying lost deadlocks.
func (m *Migrator) commitChunk(ctx context.Context, conn *pgxpool.Conn, path string, c *chunk, done progressStmt, fast bool) error {
	var err error
	for attempt := 0; attempt < maxChunkAttempts; attempt++ {
		var applied int64
		applied, err = m.tryChunk(ctx, conn, path, c, done, fast)
		if err == nil {
			m.rows.Add(c.records - int64(len(c.rejects)))
			m.applied.Add(applied)
			m.rejects.Add(int64(len(c.rejects)))
			return nil
		}
		if !conflict(err) {
			break
		}
		if werr := (sinks.Backoff{}).Wait(ctx, attempt); werr != nil {
			break
		}
	}
	return fmt.Errorf("migrate: %s: chunk ending at line %d: %w", path, c.lastLine(), err)
}

// conflict reports a transaction that lost to a concurrent one and may
// simply run again.
func conflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// triggersSkippable reports whether the session may turn triggers off
// (session_replication_role: a superuser, rds_superuser, or a role granted
// SET ON PARAMETER session_replication_role).
func triggersSkippable(ctx context.Context, conn *pgxpool.Conn) (bool, error) {
	_, err := conn.Exec(ctx, "SET session_replication_role = replica; RESET session_replication_role")
	var pe *pgconn.PgError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &pe) && pe.Code == "42501": // insufficient_privilege
		return false, nil
	default:
		// The RESET may not have run: never hand the session back.
		_ = conn.Conn().Close(context.WithoutCancel(ctx))
		return false, fmt.Errorf("probe session_replication_role: %w", err)
	}
}

// maxFreshMisses is how many chunks may find a key already stored before
// the load stops trying copyFresh (every miss costs a wasted copy).
const maxFreshMisses = 3

// merge runs mergeSQL and returns the keys it wrote and, as two parallel
// slices (hotel codes, confirmations), those it updated rather than
// inserted.
func merge(ctx context.Context, tx pgx.Tx) ([]reservation.Key, [2][]string, error) {
	var keys []reservation.Key
	var updated [2][]string
	rs, err := tx.Query(ctx, mergeSQL)
	if err != nil {
		return nil, updated, fmt.Errorf("merge: %w", err)
	}
	var k reservation.Key
	var inserted bool
	_, err = pgx.ForEachRow(rs, []any{&k.HotelCode, &k.Confirmation, &inserted}, func() error {
		keys = append(keys, k)
		if !inserted {
			updated[0] = append(updated[0], k.HotelCode)
			updated[1] = append(updated[1], k.Confirmation)
		}
		return nil
	})
	if err != nil {
		return nil, updated, fmt.Errorf("merge: %w", err)
	}
	return keys, updated, nil
}

// tryChunk runs one attempt at c's transaction: stage, merge, rejects,
// progress, the DynamoDB items (batch mode), commit. It returns how many
// rows changed the store.
func (m *Migrator) tryChunk(ctx context.Context, conn *pgxpool.Conn, path string, c *chunk, done progressStmt, fast bool) (int64, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // no-op after Commit
	var keys []reservation.Key
	if len(c.rows) > 0 {
		if fast {
			if _, err := tx.Exec(ctx, skipTriggersSQL); err != nil {
				return 0, fmt.Errorf("prepare transaction: %w", err)
			}
		}
		staged := c.newest()
		for _, r := range staged {
			if err := r.protect(m.opts.Sealer); err != nil {
				return 0, err
			}
		}
		if keys, err = m.writeStaged(ctx, tx, c, staged); err != nil {
			return 0, err
		}
	}
	if len(c.rejects) > 0 {
		lines := make([]int64, len(c.rejects))
		reasons := make([]string, len(c.rejects))
		for i, r := range c.rejects {
			lines[i], reasons[i] = r.line, r.reason
		}
		if _, err := tx.Exec(ctx, rejectsSQL, path, lines, reasons); err != nil {
			return 0, fmt.Errorf("record rejects: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, done.sql, done.args...); err != nil {
		return 0, fmt.Errorf("record progress: %w", err)
	}
	// DynamoDB before the commit: a crash in between redoes the chunk
	// instead of skipping its items (see the package comment).
	if m.dyn != nil && len(keys) > 0 {
		if err := m.dyn.Write(ctx, c.recordsOf(keys)); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	return int64(len(keys)), nil
}

// writeStaged writes a chunk's rows (staged: its newest per key, in key
// order) and returns the keys written: straight into the tables when the
// chunk's keys are the load's own (copyFresh), else copied to the staging
// table and merged (mergeSQL, then mergeUpdatedSQL for the parents it
// updated).
func (m *Migrator) writeStaged(ctx context.Context, tx pgx.Tx, c *chunk, staged []*row) ([]reservation.Key, error) {
	if c.uniqueKeys && m.freshMisses.Load() < maxFreshMisses {
		fresh, err := copyFresh(ctx, tx, staged)
		if err != nil {
			return nil, err
		}
		if fresh {
			keys := make([]reservation.Key, len(staged))
			for i, r := range staged {
				keys[i] = r.key()
			}
			return keys, nil
		}
		m.freshMisses.Add(1)
	}
	// The staging table is the session's: TRUNCATE is cheap and private.
	if _, err := tx.Exec(ctx, "TRUNCATE "+stageTable+", "+updatedTable); err != nil {
		return nil, fmt.Errorf("prepare staging table: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{stageTable}, stageColumns, pgx.CopyFromSlice(len(staged), stageCopy(staged))); err != nil {
		return nil, fmt.Errorf("copy to staging table: %w", err)
	}
	keys, updated, err := merge(ctx, tx)
	if err != nil {
		return nil, err
	}
	if len(updated[0]) > 0 {
		if _, err := tx.Exec(ctx, selectUpdatedSQL, updated[0], updated[1]); err != nil {
			return nil, fmt.Errorf("merge children: %w", err)
		}
		if _, err := tx.Exec(ctx, probeSQL); err != nil {
			return nil, fmt.Errorf("merge children: %w", err)
		}
		if _, err := tx.Exec(ctx, mergeUpdatedSQL); err != nil {
			return nil, fmt.Errorf("merge children: %w", err)
		}
	}
	return keys, nil
}
