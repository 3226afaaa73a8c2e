package pipeline

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// RunFiles processes every *.xml file of dir, in name order, in batches of
// batchSize (default 500). A file's position is a 64-bit FNV-1a hash of its
// name, in decimal: stable when files are added to the folder, so the audit
// trail recognises a file processed before. Files are not moved or deleted;
// running twice applies nothing new.
func RunFiles(ctx context.Context, dir string, batchSize, maxBytes int, proc *Processor, opts RunOptions) error {
	opts.defaults()
	if batchSize <= 0 {
		batchSize = 500
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("file source: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("file source: %s is not a directory", dir)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil {
		return fmt.Errorf("file source: %w", err)
	}
	sort.Strings(names)
	drain, cancelDrain := drainContext(ctx, opts.ShutdownTimeout)
	defer cancelDrain()
	for start := 0; start < len(names) && ctx.Err() == nil; start += batchSize {
		end := min(start+batchSize, len(names))
		msgs := make([]Message, 0, end-start)
		now := time.Now()
		for i := start; i < end; i++ {
			value, err := readLimited(names[i], maxBytes)
			if err != nil {
				return fmt.Errorf("file source: %w", err)
			}
			msgs = append(msgs, Message{Value: value, Source: "file", Partition: dir, Position: filePosition(names[i]), ReceivedAt: now})
		}
		outcomes, err := proc.Process(drain, msgs)
		if err != nil {
			return fmt.Errorf("file source: files %d-%d not acknowledged: %w", start, end-1, err)
		}
		if opts.OnBatch != nil {
			opts.OnBatch(outcomes)
		}
	}
	return nil
}

// readLimited reads at most maxBytes+1 bytes of a file: enough for the
// parser to reject an oversized message without reading all of it.
func readLimited(name string, maxBytes int) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if maxBytes <= 0 {
		maxBytes = 1 << 20
	}
	buf := make([]byte, maxBytes+1)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:n], nil
}

// filePosition is the decimal FNV-1a hash of a file's base name.
func filePosition(name string) string {
	h := fnv.New64a()
	h.Write([]byte(filepath.Base(name)))
	return strconv.FormatUint(h.Sum64(), 10)
}
