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
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"file", "line", "reason"}); err != nil {
		return 0, fmt.Errorf("migrate: write rejects: %w", err)
	}
	var n int64
	var werr error // the writer's, not the store's
	err := m.pg.BackfillRejects(ctx, abs, func(path string, line int64, reason string) error {
		if werr = cw.Write([]string{path, strconv.FormatInt(line, 10), reason}); werr != nil {
			return werr
		}
		n++
		return nil
	})
	if werr != nil {
		return n, fmt.Errorf("migrate: write rejects: %w", werr)
	}
	if err != nil {
		return n, fmt.Errorf("migrate: read rejects: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, fmt.Errorf("migrate: write rejects: %w", err)
	}
	return n, nil
}
