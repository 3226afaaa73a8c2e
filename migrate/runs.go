package migrate

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/resingest/resingest/reservation"
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
	if n := strings.Compare(b.vs, a.vs); n != 0 {
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

// A run file is runMagic, then one record per row: its payload's length
// (uvarint), then the payload: the input file's index and the line
// (uvarints), the typed values parseRow computed (so the load pass does
// not parse the rows again), the guest and the CSV fields as
// length-prefixed bytes. Binary rather than CSV: writing and reading the
// runs back as CSV cost as much CPU as everything else in the load pass.
//
// v3: the special_requests column (numColumns fields per row).
const runMagic = "resingest-run-v3\n"

// Flags of a run record.
const (
	runHasMod = 1 << iota
	runHasArr
	runHasDep
	runCancel
)

// appendRunRecord appends r's payload to b.
func appendRunRecord(b []byte, r *row) []byte {
	b = binary.AppendUvarint(b, uint64(r.input))
	b = binary.AppendUvarint(b, uint64(r.line))
	b = binary.AppendVarint(b, r.created.Unix())
	b = binary.AppendUvarint(b, uint64(r.created.Nanosecond()))
	var flags byte
	if r.hasMod {
		flags |= runHasMod
	}
	if r.hasArr {
		flags |= runHasArr
	}
	if r.hasDep {
		flags |= runHasDep
	}
	if r.action == reservation.ActionCancel {
		flags |= runCancel
	}
	b = append(b, flags)
	if r.hasMod {
		b = binary.AppendVarint(b, r.modified.Unix())
		b = binary.AppendUvarint(b, uint64(r.modified.Nanosecond()))
	}
	if r.hasArr {
		b = binary.AppendVarint(b, r.arrival.Unix())
	}
	if r.hasDep {
		b = binary.AppendVarint(b, r.departure.Unix())
	}
	b = binary.AppendUvarint(b, uint64(r.adults))
	b = binary.AppendUvarint(b, uint64(r.children))
	for _, f := range r.rec {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// errRunCorrupt: a run record does not decode (a truncated or foreign
// file in the spill directory).
var errRunCorrupt = errors.New("corrupt run record")

// runDecoder reads a run record's payload.
type runDecoder struct {
	b   []byte
	bad bool
}

func (d *runDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *runDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *runDecoder) byte() byte {
	if len(d.b) == 0 {
		d.bad = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// decodeRunRecord is appendRunRecord's inverse. The fields share one
// string (one allocation per row).
func decodeRunRecord(payload []byte) (row, error) {
	d := runDecoder{b: payload}
	var r row
	r.input = int(d.uvarint())
	r.line = int64(d.uvarint())
	r.created = time.Unix(d.varint(), int64(d.uvarint())).UTC()
	flags := d.byte()
	r.hasMod, r.hasArr, r.hasDep = flags&runHasMod != 0, flags&runHasArr != 0, flags&runHasDep != 0
	r.action = reservation.ActionCreate
	if flags&runCancel != 0 {
		r.action = reservation.ActionCancel
	}
	if r.hasMod {
		r.modified = time.Unix(d.varint(), int64(d.uvarint())).UTC()
	}
	if r.hasArr {
		r.arrival = time.Unix(d.varint(), 0).UTC()
	}
	if r.hasDep {
		r.departure = time.Unix(d.varint(), 0).UTC()
	}
	r.adults, r.children = int32(d.uvarint()), int32(d.uvarint())
	if d.bad {
		return row{}, errRunCorrupt
	}
	all := string(d.b)
	r.rec = make([]string, numColumns)
	off := 0
	for i := range r.rec {
		n, k := binary.Uvarint(d.b[off:])
		if k <= 0 || uint64(len(d.b)-off-k) < n {
			return row{}, errRunCorrupt
		}
		off += k
		r.rec[i] = all[off : off+int(n)]
		off += int(n)
	}
	if off != len(d.b) {
		return row{}, errRunCorrupt
	}
	r.setVersion()
	return r, nil
}

// writeRun writes rows, sorted by runOrder, as a run file.
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
	_, _ = bw.WriteString(runMagic) // bufio: the error comes back from Flush
	var rec, head []byte
	for _, r := range ptrs {
		rec = appendRunRecord(rec[:0], r)
		head = binary.AppendUvarint(head[:0], uint64(len(rec)))
		_, _ = bw.Write(head)
		_, _ = bw.Write(rec)
	}
	// Synced: the manifest that lets a later run reuse the runs must not
	// outlive them in a machine crash.
	if err := errors.Join(bw.Flush(), f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("migrate: spill: %w", err)
	}
	return nil
}

// runReader reads one run back.
type runReader struct {
	f   *os.File
	r   *bufio.Reader
	buf []byte
	cur row // the next row; cur.rec == nil at the end
}

func (r *runReader) advance() error {
	n, err := binary.ReadUvarint(r.r)
	if errors.Is(err, io.EOF) {
		r.cur = row{}
		return nil
	}
	if err != nil {
		return fmt.Errorf("migrate: read spill %s: %w", r.f.Name(), err)
	}
	if n > 1<<30 {
		return fmt.Errorf("migrate: read spill %s: %w", r.f.Name(), errRunCorrupt)
	}
	if uint64(cap(r.buf)) < n {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		return fmt.Errorf("migrate: read spill %s: %w", r.f.Name(), err)
	}
	if r.cur, err = decodeRunRecord(r.buf); err != nil {
		return fmt.Errorf("migrate: read spill %s: %w", r.f.Name(), err)
	}
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
		r := &runReader{f: f, r: bufio.NewReaderSize(countingReader{f, read}, 1<<18)}
		mr.runs = append(mr.runs, r)
		magic := make([]byte, len(runMagic))
		if _, err := io.ReadFull(r.r, magic); err != nil || string(magic) != runMagic {
			mr.close()
			return nil, fmt.Errorf("migrate: %s is not a run of this version of resingest: remove the spill directory %s and run again", p, filepath.Dir(p))
		}
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
