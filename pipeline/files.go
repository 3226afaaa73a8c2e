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
// batchSize (default 500): Drain over a FileSource. A file's position is a
// 64-bit FNV-1a hash of its name, in decimal: stable when files are added
// to the folder, so the audit trail recognises a file processed before.
// Files are not moved or deleted; running twice applies nothing new.
func RunFiles(ctx context.Context, dir string, batchSize, maxBytes int, proc *Processor, opts RunOptions) error {
	src, err := NewFileSource(dir, batchSize, maxBytes)
	if err != nil {
		return err
	}
	if err := Drain(ctx, src, proc, opts); err != nil {
		return fmt.Errorf("file source: %w", err)
	}
	return nil
}

// FileSource is a Source over the *.xml files of a folder, in name order,
// listed when it is made. A batch ends at batchSize files or once its
// files hold FileBatchMaxBytes. It keeps no position (Ack is nil): the
// audit trail recognises files processed before. Not safe for concurrent
// use.
type FileSource struct {
	dir       string
	names     []string
	next      int
	batchSize int
	maxBytes  int
}

// NewFileSource lists dir's *.xml files. batchSize <= 0 means 500;
// maxBytes is the largest message read whole (see readLimited).
func NewFileSource(dir string, batchSize, maxBytes int) (*FileSource, error) {
	if batchSize <= 0 {
		batchSize = 500
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("file source: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("file source: %s is not a directory", dir)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil {
		return nil, fmt.Errorf("file source: %w", err)
	}
	sort.Strings(names)
	return &FileSource{dir: dir, names: names, batchSize: batchSize, maxBytes: maxBytes}, nil
}

// Next reads the next batch of files; io.EOF after the last.
func (s *FileSource) Next(ctx context.Context) (Batch, error) {
	if err := ctx.Err(); err != nil {
		return Batch{}, err
	}
	start := s.next
	if start >= len(s.names) {
		return Batch{}, io.EOF
	}
	msgs := make([]Message, 0, min(s.batchSize, len(s.names)-start))
	now := time.Now()
	held := 0 // bytes of the batch: it ends at batchSize files or FileBatchMaxBytes
	end := start
	for ; end < len(s.names) && len(msgs) < s.batchSize && held < FileBatchMaxBytes; end++ {
		value, size, err := readLimited(s.names[end], s.maxBytes)
		if err != nil {
			return Batch{}, err // RunFiles names the source
		}
		held += len(value)
		msgs = append(msgs, Message{Value: value, Size: size, Source: "file", Partition: s.dir, Position: filePosition(s.names[end]), ReceivedAt: now})
	}
	s.next = end
	return Batch{Messages: msgs, Name: fmt.Sprintf("files %d-%d", start, end-1)}, nil
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
