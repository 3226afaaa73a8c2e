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
	for start, end := 0, 0; start < len(names) && ctx.Err() == nil; start = end {
		msgs := make([]Message, 0, min(batchSize, len(names)-start))
		now := time.Now()
		held := 0 // bytes of the batch: it ends at batchSize files or FileBatchMaxBytes
		for end = start; end < len(names) && len(msgs) < batchSize && held < FileBatchMaxBytes; end++ {
			value, size, err := readLimited(names[end], maxBytes)
			if err != nil {
				return fmt.Errorf("file source: %w", err)
			}
			held += len(value)
			msgs = append(msgs, Message{Value: value, Size: size, Source: "file", Partition: dir, Position: filePosition(names[end]), ReceivedAt: now})
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

// FileBatchMaxBytes bounds the bytes of the messages one file batch holds:
// a batch ends early once its files reach it.
const FileBatchMaxBytes = 32 << 20

// readLimited reads a file of at most maxBytes whole. A larger one is not
// read whole: only its first DeadLetterPrefixBytes, with size set to its
// whole size (see CutOversized); size is 0 otherwise.
func readLimited(name string, maxBytes int) (value []byte, size int, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	if maxBytes <= 0 {
		maxBytes = 1 << 20
	}
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	n := maxBytes + 1 // a file growing while read still stops here
	if st.Size() > int64(maxBytes) {
		n = DeadLetterPrefixBytes
	}
	buf := make([]byte, min(int64(n), st.Size()+1))
	k, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	value = buf[:k]
	if st.Size() > int64(maxBytes) {
		return value, int(st.Size()), nil
	}
	if k > maxBytes { // grew past the limit since the stat
		value, size = CutOversized(value, k, maxBytes)
	}
	return value, size, nil
}

// filePosition is the decimal FNV-1a hash of a file's base name.
func filePosition(name string) string {
	h := fnv.New64a()
	h.Write([]byte(filepath.Base(name)))
	return strconv.FormatUint(h.Sum64(), 10)
}
