package corpus

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
)

// writeWorkers bounds the goroutines writing files. Creating a file costs
// far more than generating a message, and file creation overlaps well, so
// a few writers keep up with one generator on a small machine.
const writeWorkers = 4

// WriteDir writes the first n messages of the corpus for seed (default
// options otherwise) into dir, one file each; see (*Generator).WriteDir.
func WriteDir(ctx context.Context, dir string, n int, seed uint64, progress func(done int)) error {
	return New(Options{Seed: seed}).WriteDir(ctx, dir, n, progress)
}

// WriteDir writes the next n messages into dir (created if missing), one
// file each named by Message.Name; with more than 999,999 messages the
// numbers are padded to n's width so that names sort in generation order.
//
// Messages are generated in order on the calling goroutine (so the content
// stays deterministic) and written by a few background writers. progress,
// when not nil, is called on the calling goroutine with the number of files
// written so far, ending with n. WriteDir stops early with ctx's error when
// ctx is done, and returns the first write error.
func (g *Generator) WriteDir(ctx context.Context, dir string, n int, progress func(done int)) error {
	if n < 0 {
		return fmt.Errorf("corpus: negative message count %d", n)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("corpus: create output directory: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type file struct {
		path string
		data []byte
	}
	files := make(chan file, writeWorkers*4)
	var (
		written  atomic.Int64
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		cancel()
	}
	for range writeWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range files {
				if ctx.Err() != nil {
					continue // drain after a failure
				}
				if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
					fail(fmt.Errorf("corpus: write message: %w", err))
					continue
				}
				written.Add(1)
			}
		}()
	}

	width := max(6, len(strconv.Itoa(n)))
	reported := int64(-1)
	report := func() {
		if w := written.Load(); progress != nil && w != reported {
			reported = w
			progress(int(w))
		}
	}
	for i := 1; i <= n && ctx.Err() == nil; i++ {
		m := g.Next()
		name := m.Name
		if width > 6 {
			name = fmt.Sprintf("msg-%0*d.xml", width, g.seq)
		}
		select {
		case files <- file{path: filepath.Join(dir, name), data: m.XML}:
		case <-ctx.Done():
		}
		report()
	}
	close(files)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if w := written.Load(); w < int64(n) {
		return fmt.Errorf("corpus: stopped after %d of %d messages: %w", w, n, context.Cause(ctx))
	}
	report()
	return nil
}
