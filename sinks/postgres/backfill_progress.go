package postgres

import (
	"context"
)

// The backfill's progress and rejects outside a chunk's transaction
// (backfill_files, backfill_rejects: migration 0002).

// SchemaName names the database and schema the sink writes to, as
// "database.schema": loads of the same files into two of them are two
// loads.
func (s *Sink) SchemaName(ctx context.Context) (string, error) {
	var name string
	err := s.pool.QueryRow(ctx, schemaNameSQL).Scan(&name)
	return name, err
}

// BackfillDone returns the paths recorded as done (backfill_files) that
// begin with prefix, which must hold no LIKE wildcard (% or _).
func (s *Sink) BackfillDone(ctx context.Context, prefix string) (map[string]bool, error) {
	done := map[string]bool{}
	rows, err := s.pool.Query(ctx, chunksDoneSQL, prefix+"%")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		done[p] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return done, nil
}

// RecordBackfillRejects stores rejects of path outside any chunk and
// returns how many were new: their key (file, line) makes a second
// recording of the same row a no-op.
func (s *Sink) RecordBackfillRejects(ctx context.Context, path string, rejects []BackfillReject) (int64, error) {
	lines, reasons := rejectArrays(rejects)
	tag, err := s.pool.Exec(ctx, rejectsSQL, path, lines, reasons)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// BackfillRejects calls fn with every reject recorded for paths, in path
// and line order, and stops at fn's first error, which it returns as is.
func (s *Sink) BackfillRejects(ctx context.Context, paths []string, fn func(path string, line int64, reason string) error) error {
	rows, err := s.pool.Query(ctx, readRejectsSQL, paths)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var path, reason string
		var line int64
		if err := rows.Scan(&path, &line, &reason); err != nil {
			return err
		}
		if err := fn(path, line, reason); err != nil {
			return err
		}
	}
	return rows.Err()
}
