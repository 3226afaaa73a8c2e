package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/resingest/resingest/sinks"
)

// Defaults of AuditOptions.
const (
	DefaultAuditBuffer      = 4096
	DefaultAuditBatch       = 256
	DefaultAuditFlushEvery  = 200 * time.Millisecond
	DefaultAuditEnqueueWait = 250 * time.Millisecond
)

// ErrAuditFull is returned by AccessAudit.Record when the buffer stayed
// full for EnqueueWait: the response must not be sent (no unmasked
// personal data leaves unaudited).
var ErrAuditFull = errors.New("api: the PII access audit is full")

// ErrAuditClosed is returned by AccessAudit.Record after Close.
var ErrAuditClosed = errors.New("api: the PII access audit is closed")

// PIIAccess is one row of the access audit: who saw which scoped fields
// of which reservation unmasked, when, in which request.
type PIIAccess struct {
	At        time.Time
	RequestID string
	// CallerKind is "partner" or "guest".
	CallerKind string
	// CallerID is the partner's access key id, or "sha256:<hex>" of the
	// guest id (the audit keeps no e-mail address).
	CallerID     string
	HotelCode    string
	Confirmation string
	Fields       []string
}

// AccessSink stores audit rows; *PostgresAccessLog implements it. An error
// wrapping sinks.ErrRetryable is retried.
type AccessSink interface {
	WriteAccesses(ctx context.Context, rows []PIIAccess) error
}

// AuditOptions configures an AccessAudit; zero values take the defaults.
type AuditOptions struct {
	// Buffer is how many responses' rows may wait to be written.
	Buffer int
	// Batch is how many rows are written at once without waiting for
	// FlushEvery (a write may take more: one response's rows stay together).
	Batch int
	// FlushEvery is how long a row may wait for its batch to fill.
	FlushEvery time.Duration
	// EnqueueWait is how long a response waits for room in a full buffer
	// before Record gives up with ErrAuditFull.
	EnqueueWait time.Duration
	// Logger receives write failures (slog.Default() when nil).
	Logger *slog.Logger
}

// AccessAudit writes PIIAccess rows asynchronously, in batches, from a
// bounded buffer, so a slow audit store does not slow reads.
//
// When the buffer is full it neither drops rows nor blocks reads for long:
// Record waits up to EnqueueWait for room, then fails with ErrAuditFull and
// the server answers 503 instead of the personal data (fail closed; counted
// in Stats().Refused). A batch the store refuses is retried with backoff
// while the error is retryable; a batch that still cannot be written (a
// permanent error, or Close's deadline) is logged at error with its row
// count and counted in Stats().Lost, never dropped silently.
//
// It is safe for concurrent use; Close is idempotent.
type AccessAudit struct {
	sink AccessSink
	opts AuditOptions
	ch   chan []PIIAccess

	mu     sync.RWMutex // held for reading while sending to ch; Close takes it to close ch
	closed bool

	// stopped ends when Close's deadline passes: the writer stops retrying.
	stopped   context.Context
	stop      context.CancelFunc
	done      chan struct{} // closed when the writer has finished
	closeOnce sync.Once

	written, refused, lost atomic.Int64
}

// AuditStats are counters of an AccessAudit.
type AuditStats struct {
	Written int64 // rows stored
	Refused int64 // responses refused because the buffer was full
	Lost    int64 // rows that could not be stored (logged at error)
}

// NewAccessAudit starts the writer of sink.
func NewAccessAudit(sink AccessSink, opts AuditOptions) *AccessAudit {
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultAuditBuffer
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultAuditBatch
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = DefaultAuditFlushEvery
	}
	if opts.EnqueueWait <= 0 {
		opts.EnqueueWait = DefaultAuditEnqueueWait
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &AccessAudit{sink: sink, opts: opts, ch: make(chan []PIIAccess, opts.Buffer), done: make(chan struct{})}
	a.stopped, a.stop = context.WithCancel(context.Background())
	go a.run()
	return a
}

// Record queues the rows of one response, all or none.
func (a *AccessAudit) Record(ctx context.Context, rows []PIIAccess) error {
	if len(rows) == 0 {
		return nil
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		return ErrAuditClosed
	}
	select {
	case a.ch <- rows:
		return nil
	default:
	}
	t := time.NewTimer(a.opts.EnqueueWait)
	defer t.Stop()
	select {
	case a.ch <- rows:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	a.refused.Add(1)
	return ErrAuditFull
}

// Stats returns the counters.
func (a *AccessAudit) Stats() AuditStats {
	return AuditStats{Written: a.written.Load(), Refused: a.refused.Load(), Lost: a.lost.Load()}
}

// Close stops taking rows and writes those queued, retrying until ctx
// ends; rows still unwritten then are logged and counted as lost.
func (a *AccessAudit) Close(ctx context.Context) error {
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closed = true
		close(a.ch)
		a.mu.Unlock()
	})
	select {
	case <-a.done:
		a.stop()
		return nil
	case <-ctx.Done():
	}
	a.stop()
	<-a.done
	return fmt.Errorf("api: close the access audit: %w", ctx.Err())
}

// run is the one writer: it gathers rows until a batch is full or
// FlushEvery has passed, then writes them.
func (a *AccessAudit) run() {
	defer close(a.done)
	tick := time.NewTicker(a.opts.FlushEvery)
	defer tick.Stop()
	batch := make([]PIIAccess, 0, a.opts.Batch)
	for {
		select {
		case rows, ok := <-a.ch:
			if !ok {
				a.flush(batch)
				return
			}
			batch = append(batch, rows...)
			if len(batch) >= a.opts.Batch {
				a.flush(batch)
				batch = batch[:0]
			}
		case <-tick.C:
			if len(batch) > 0 {
				a.flush(batch)
				batch = batch[:0]
			}
		}
	}
}

// flush writes rows, retrying retryable errors with capped backoff until
// they are written or Close's deadline passes.
func (a *AccessAudit) flush(rows []PIIAccess) {
	if len(rows) == 0 {
		return
	}
	ctx := a.stopped
	backoff := sinks.Backoff{Initial: 50 * time.Millisecond, Max: 2 * time.Second}
	for attempt := 0; ; attempt++ {
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		err := a.sink.WriteAccesses(wctx, rows)
		wcancel()
		if err == nil {
			a.written.Add(int64(len(rows)))
			return
		}
		if sinks.IsRetryable(err) && ctx.Err() == nil {
			if attempt%10 == 0 {
				a.opts.Logger.Warn("PII access audit write failed; retrying", "rows", len(rows), "attempt", attempt+1, "err", err)
			}
			if backoff.Wait(ctx, attempt) == nil {
				continue
			}
		}
		a.lost.Add(int64(len(rows)))
		a.opts.Logger.Error("PII access audit rows lost", "rows", len(rows), "err", err)
		return
	}
}

// auditCallerID is who a PIIAccess names.
func auditCallerID(c Caller) (kind, id string) {
	if c.Kind == PartnerCaller {
		return "partner", c.partner.AccessKeyID
	}
	sum := sha256.Sum256([]byte(c.GuestID))
	return "guest", "sha256:" + hex.EncodeToString(sum[:])
}

// docBuilder builds the documents of one response and the audit rows of
// the personal data they show unmasked.
type docBuilder struct {
	s    *Server
	c    Caller
	r    *http.Request
	rows []PIIAccess
}

func (s *Server) newDocs(c Caller, r *http.Request) *docBuilder { return &docBuilder{s: s, c: c, r: r} }

// add returns the document of st as the caller may see it.
func (b *docBuilder) add(st *Stored) Itinerary {
	it, fields := document(b.c, st, b.s.opts.Audit != nil)
	if len(fields) > 0 {
		kind, id := auditCallerID(b.c)
		b.rows = append(b.rows, PIIAccess{At: b.s.opts.Now().UTC(), RequestID: requestIDFrom(b.r.Context()),
			CallerKind: kind, CallerID: id, HotelCode: st.Reservation.HotelCode,
			Confirmation: st.Reservation.Confirmation, Fields: fields})
	}
	return it
}

// record queues the audit rows before the response is written; when the
// audit cannot take them it answers 503 and returns false.
func (b *docBuilder) record(w http.ResponseWriter) bool {
	if len(b.rows) == 0 {
		return true
	}
	if err := b.s.opts.Audit.Record(b.r.Context(), b.rows); err != nil {
		b.s.log.WarnContext(b.r.Context(), "PII access audit refused a response", "request_id", requestIDFrom(b.r.Context()),
			"rows", len(b.rows), "err", err)
		w.Header().Set("Retry-After", "1")
		writeProblem(w, http.StatusServiceUnavailable, ProblemUnavailable, "the access audit is busy; retry later")
		return false
	}
	return true
}
