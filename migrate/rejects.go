package migrate

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
)

// WriteRejects writes the rejected rows of files (local paths or
// Source.Name) recorded so far (by this
// run and any earlier one of the same files) to w as CSV with a header:
// file,line,reason. It returns how many it wrote. Reasons never hold row
// content.
func (m *Migrator) WriteRejects(ctx context.Context, w io.Writer, files []string) (int64, error) {
	abs := make([]string, len(files))
	for i, f := range files {
		if IsS3URL(f) {
			abs[i] = f
			continue
		}
		a, err := filepath.Abs(f)
		if err != nil {
			return 0, fmt.Errorf("migrate: %w", err)
		}
		abs[i] = a
	}
	rows, err := m.pool.Query(ctx, `
		SELECT path, line, reason FROM backfill_rejects
		WHERE path = ANY($1) ORDER BY path, line`, abs)
	if err != nil {
		return 0, fmt.Errorf("migrate: read rejects: %w", err)
	}
	defer rows.Close()
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"file", "line", "reason"}); err != nil {
		return 0, fmt.Errorf("migrate: write rejects: %w", err)
	}
	var n int64
	for rows.Next() {
		var path, reason string
		var line int64
		if err := rows.Scan(&path, &line, &reason); err != nil {
			return n, fmt.Errorf("migrate: read rejects: %w", err)
		}
		if err := cw.Write([]string{path, strconv.FormatInt(line, 10), reason}); err != nil {
			return n, fmt.Errorf("migrate: write rejects: %w", err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("migrate: read rejects: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, fmt.Errorf("migrate: write rejects: %w", err)
	}
	return n, nil
}
