package main

import (
	"bufio"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/resingest/resingest/parse"
)

// parseBatchFiles is how many files one worker takes at a time: large
// enough that handing batches over costs nothing, small enough to keep
// every core busy on a few hundred files.
const parseBatchFiles = 32

// parseBatch is a run of consecutive files and, once done is closed, what
// they print: records on stdout, reasons on stderr, in file order.
type parseBatch struct {
	files  []string
	out    []byte
	errs   []byte
	failed bool
	done   chan struct{}
}

// parseFiles parses files on workers goroutines in order-preserving batches
// and writes the output exactly as a sequential run would: files in order,
// records in document order, one reason per rejected file on stderr. At
// most 2*workers batches are in flight. It reports whether any file was
// rejected.
func parseFiles(p *parse.Parser, maxBytes int, files []string, workers int, stdout *bufio.Writer, stderr io.Writer) bool {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	order := make(chan *parseBatch, 2*workers) // bounds the batches in flight
	jobs := make(chan *parseBatch, 2*workers)
	// Output buffers go back to free once written: a batch's records are
	// tens of kilobytes, and growing a new buffer for each batch was a
	// third of what the command allocated.
	free := make(chan []byte, 2*workers+2)
	go func() {
		defer close(order)
		defer close(jobs)
		for i := 0; i < len(files); i += parseBatchFiles {
			b := &parseBatch{files: files[i:min(i+parseBatchFiles, len(files))], done: make(chan struct{})}
			select {
			case b.out = <-free:
			default:
			}
			order <- b
			jobs <- b
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte // one message at a time, reused
			for b := range jobs {
				buf = b.run(p, maxBytes, buf)
				close(b.done)
			}
		}()
	}
	failed := false
	for b := range order {
		<-b.done
		stdout.Write(b.out)
		if len(b.errs) > 0 {
			stdout.Flush() // records before a reason reach the terminal first
			stderr.Write(b.errs)
		}
		failed = failed || b.failed
		select {
		case free <- b.out[:0]:
		default:
		}
	}
	wg.Wait()
	return failed
}

func (b *parseBatch) run(p *parse.Parser, maxBytes int, buf []byte) []byte {
	for _, name := range b.files {
		var err error
		if buf, err = readFileInto(buf, name, maxBytes); err != nil {
			b.reject(name, err)
			continue
		}
		// The records are encoded before buf is read into again.
		if b.out, err = appendRecords(b.out, p, buf); err != nil {
			b.reject(name, err)
		}
	}
	return buf
}

func (b *parseBatch) reject(name string, err error) {
	b.failed = true
	b.errs = fmt.Appendf(b.errs, "%s: %v\n", name, err)
}

// appendRecords parses one message and appends its records to out as JSON
// Lines; on a rejection out is returned unchanged. msg may be reused once
// it returns.
func appendRecords(out []byte, p *parse.Parser, msg []byte) ([]byte, error) {
	return p.AppendJSON(out, msg)
}
