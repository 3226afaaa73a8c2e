package migrate

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/dynamo"
)

// importFiles writes items as gzip DynamoDB JSON files for DynamoDB's
// import from S3 (no write capacity used). A file is named after its
// source and position, so redoing the same part overwrites the same file
// (written to a temporary name and renamed: never half a file).
//
// Not wired into the load yet: writing the keys each chunk applied gives
// a key applied by two chunks (a newer row later in the extract) two lines
// in two files, and an import does not promise which one wins. The files
// must be written from the final state instead (one pass over Postgres
// after the load, or keys deduplicated newest-first). Safe for concurrent
// use.
type importFiles struct {
	dir string
}

// importFileName is the deterministic name of a chunk's file.
func importFileName(input string, linesDone int64) string {
	h := sha256.Sum256([]byte(input))
	return fmt.Sprintf("%s-%012d.json.gz", hex.EncodeToString(h[:8]), linesDone)
}

func (w *importFiles) write(input string, linesDone int64, recs []sinks.Record) error {
	now := time.Now()
	name := filepath.Join(w.dir, importFileName(input, linesDone))
	f, err := os.CreateTemp(w.dir, ".import-*")
	if err != nil {
		return fmt.Errorf("migrate: import file: %w", err)
	}
	defer func() { _ = os.Remove(f.Name()) }() // no-op after the rename
	zw := gzip.NewWriter(f)
	var line []byte
	for i := range recs {
		item, err := dynamo.EncodeItem(&recs[i], dynamo.EmailGuestID, now)
		if err != nil {
			_ = f.Close()
			return err
		}
		if line, err = appendImportLine(line[:0], item); err != nil {
			_ = f.Close()
			return err
		}
		if _, err := zw.Write(line); err != nil {
			_ = f.Close()
			return fmt.Errorf("migrate: import file: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		_ = f.Close()
		return fmt.Errorf("migrate: import file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("migrate: import file: %w", err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("migrate: import file: %w", err)
	}
	return nil
}
