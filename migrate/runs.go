package migrate

import (
	"bufio"
	"container/heap"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// Sorted runs of the presorted load (presort.go): written by the sort
// pass, merged back in key order by the load pass.

// runOrder is the merged stream's order: key, then newest first (row.newer;
// the input file breaks a tie of version and line).
func runOrder(a, b *row) int {
	if n := strings.Compare(a.rec[colHotelCode], b.rec[colHotelCode]); n != 0 {
		return n
	}
	if n := strings.Compare(a.rec[colConfirmation], b.rec[colConfirmation]); n != 0 {
		return n
	}
	if n := strings.Compare(b.version.String(), a.version.String()); n != 0 {
		return n
	}
	if a.line != b.line {
		if a.line > b.line {
			return -1
		}
		return 1
	}
	switch {
	case a.input > b.input:
		return -1
	case a.input < b.input:
		return 1
	}
	return 0
}

// writeRun writes rows, sorted by runOrder, as CSV: the input columns,
// then the input file's index and the line.
func writeRun(name string, idx int, rows []row) error {
	ptrs := make([]*row, len(rows))
	for i := range rows {
		rows[i].input = idx
		ptrs[i] = &rows[i]
	}
	slices.SortFunc(ptrs, runOrder)
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("migrate: spill: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := csv.NewWriter(bw)
	rec := make([]string, numColumns+2)
	for _, r := range ptrs {
		copy(rec, r.rec)
		rec[numColumns] = strconv.Itoa(r.input)
		rec[numColumns+1] = strconv.FormatInt(r.line, 10)
		if err := w.Write(rec); err != nil {
			_ = f.Close()
			return fmt.Errorf("migrate: spill: %w", err)
		}
	}
	w.Flush()
	// Synced: the manifest that lets a later run reuse the runs must not
	// outlive them in a machine crash.
	if err := errors.Join(w.Error(), bw.Flush(), f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("migrate: spill: %w", err)
	}
	return nil
}

// runReader reads one run back.
type runReader struct {
	f   *os.File
	csv *csv.Reader
	cur row // the next row; cur.rec == nil at the end
}

func (r *runReader) advance() error {
	rec, err := r.csv.Read()
	if errors.Is(err, io.EOF) {
		r.cur = row{}
		return nil
	}
	if err != nil {
		return fmt.Errorf("migrate: read spill %s: %w", r.f.Name(), err)
	}
	if len(rec) != numColumns+2 {
		return fmt.Errorf("migrate: read spill %s: %d fields", r.f.Name(), len(rec))
	}
	input, err1 := strconv.Atoi(rec[numColumns])
	line, err2 := strconv.ParseInt(rec[numColumns+1], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("migrate: read spill %s: %w", r.f.Name(), err)
	}
	parsed, rerr := parseRow(line, rec[:numColumns:numColumns])
	if rerr != nil { // it parsed before it was spilled
		return fmt.Errorf("migrate: read spill %s line %d: %w", r.f.Name(), line, rerr)
	}
	parsed.input = input
	r.cur = parsed
	return nil
}

// runMerger merges runs in runOrder: a heap of the runs by their next row.
type runMerger struct {
	runs []*runReader // every run, to close
	heap runHeap      // the runs not exhausted
}

type runHeap []*runReader

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return runOrder(&h[i].cur, &h[j].cur) < 0 }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// openRuns opens the runs for merging; it adds their size to total and
// counts the bytes read in read.
func openRuns(paths []string, total, read *atomic.Int64) (*runMerger, error) {
	mr := &runMerger{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			mr.close()
			return nil, fmt.Errorf("migrate: %w", err)
		}
		if st, err := f.Stat(); err == nil {
			total.Add(st.Size())
		}
		r := &runReader{f: f, csv: csv.NewReader(bufio.NewReaderSize(countingReader{f, read}, 1<<18))}
		mr.runs = append(mr.runs, r)
		if err := r.advance(); err != nil {
			mr.close()
			return nil, err
		}
		if r.cur.rec != nil {
			mr.heap = append(mr.heap, r)
		}
	}
	heap.Init(&mr.heap)
	return mr, nil
}

// close closes the runs; it is idempotent.
func (mr *runMerger) close() {
	for _, r := range mr.runs {
		_ = r.f.Close()
	}
	mr.runs, mr.heap = nil, nil
}

// next returns the smallest row in runOrder; ok is false at the end.
func (mr *runMerger) next() (row, bool, error) {
	if len(mr.heap) == 0 {
		return row{}, false, nil
	}
	r := mr.heap[0]
	out := r.cur
	if err := r.advance(); err != nil {
		return row{}, false, err
	}
	if r.cur.rec == nil {
		heap.Pop(&mr.heap)
	} else {
		heap.Fix(&mr.heap, 0)
	}
	return out, true, nil
}

// peekHead returns the next row without taking it (nil at the end).
func (mr *runMerger) peekHead() *row {
	if len(mr.heap) == 0 {
		return nil
	}
	return &mr.heap[0].cur
}

// nextChunk returns the next chunk of up to size keys: the newest row of
// each, the others counted in records (they are input rows too).
func (mr *runMerger) nextChunk(size int) (chunk, error) {
	c := chunk{uniqueKeys: true}
	for len(c.rows) < size {
		r, ok, err := mr.next()
		if err != nil || !ok {
			return c, err
		}
		c.records++
		// The stream is in key order, newest first: a row of the key
		// just taken is older.
		if n := len(c.rows); n > 0 && c.rows[n-1].key() == r.key() {
			continue
		}
		c.rows = append(c.rows, r)
	}
	// Older rows of the chunk's last key belong to it, not to the next
	// chunk (which would merge an older row after the newer one).
	for {
		h := mr.peekHead()
		if h == nil || h.key() != c.rows[len(c.rows)-1].key() {
			return c, nil
		}
		if _, _, err := mr.next(); err != nil {
			return c, err
		}
		c.records++
	}
}
