package migrate

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
)

// ErrNoInput is returned when a directory holds no extract files.
var ErrNoInput = errors.New("migrate: no input files")

// ErrHeader is wrapped by the error of an input file whose header is not an
// extract's: running again does not help until the file is fixed.
var ErrHeader = errors.New("not an extract's header")

// Files lists the extract files in dir (*.csv and *.csv.gz), sorted.
func Files(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && (strings.HasSuffix(n, ".csv") || strings.HasSuffix(n, ".csv.gz")) {
			out = append(out, filepath.Join(dir, n))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w in %s (want *.csv or *.csv.gz)", ErrNoInput, dir)
	}
	sort.Strings(out)
	return out, nil
}

// countingReader counts the bytes read from the file (compressed bytes for
// a .gz file) into a shared counter, for progress and ETA.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// input reads one extract file record by record.
type input struct {
	rc   io.ReadCloser
	zr   *gzip.Reader
	csv  *csv.Reader
	line int64 // line of the last record read
	// width is the header's column count: numColumns, or legacyColumns
	// for an extract without special_requests.
	width int
}

// openInput opens src and checks its header row.
func openInput(ctx context.Context, src Source, bytesRead *atomic.Int64) (*input, error) {
	rc, err := src.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	in := &input{rc: rc}
	var r io.Reader = bufio.NewReaderSize(countingReader{rc, bytesRead}, 1<<16)
	if src.Gzip {
		if in.zr, err = gzip.NewReader(r); err != nil {
			in.Close()
			return nil, fmt.Errorf("migrate: %s: %w", src.Name, err)
		}
		r = in.zr
	}
	in.csv = csv.NewReader(r)
	in.csv.FieldsPerRecord = -1 // a short row is a reject, not the end of the file
	in.csv.ReuseRecord = false
	head, err := in.csv.Read()
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("migrate: %s: %w: %w", src.Name, ErrHeader, err)
	}
	if !knownHeader(head) {
		in.Close()
		return nil, fmt.Errorf("migrate: %s: %w: %d columns starting %q and ending %q, want %d from %q to %q (or %d to %q, without special requests)",
			src.Name, ErrHeader, len(head), head[0], head[len(head)-1], numColumns, columnNames[0], columnNames[numColumns-1],
			legacyColumns, columnNames[legacyColumns-1])
	}
	in.width = len(head)
	return in, nil
}

// knownHeader reports whether head is the header of an extract: numColumns
// columns, or legacyColumns (written before special_requests existed).
// The first and last names tell them apart.
func knownHeader(head []string) bool {
	n := len(head)
	return (n == numColumns || n == legacyColumns) &&
		strings.TrimPrefix(head[0], "\ufeff") == columnNames[0] && head[n-1] == columnNames[n-1]
}

// next returns the next record, numColumns fields (a legacy file's with
// an empty special_requests), and its line; a malformed record (bad
// quoting, not as many fields as the header) comes back as a *RowError
// with its line. io.EOF ends the file.
func (in *input) next() ([]string, int64, error) {
	rec, err := in.csv.Read()
	if err == nil {
		line, _ := in.csv.FieldPos(0)
		in.line = int64(line)
		if len(rec) != in.width {
			return nil, in.line, &RowError{Reason: fmt.Sprintf("%d fields, want %d", len(rec), in.width)}
		}
		if in.width == legacyColumns {
			rec = append(rec, "") // no special requests
		}
		return rec, in.line, nil
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		in.line = int64(pe.StartLine)
		return nil, in.line, &RowError{Reason: "malformed CSV: " + pe.Err.Error()}
	}
	return nil, 0, err
}

// Close closes the file; it is idempotent.
func (in *input) Close() {
	if in.rc != nil {
		_ = in.rc.Close()
		in.rc = nil
	}
}
