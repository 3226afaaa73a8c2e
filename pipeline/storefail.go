package pipeline

import (
	"context"
	"sync"
	"time"

	"github.com/resingest/resingest/sinks"
)

// DefaultStallTimeout is how long a batch may make no progress before the
// worker reports itself stalled (Config.StallTimeout).
const DefaultStallTimeout = 30 * time.Second

// Rates of the store-failure log lines: a store without progress is
// named after stallWarnAfter (at most; StallTimeout when shorter), then
// every stallWarnEvery while it lasts; retries of one store are logged at
// WARN at most every retryLogEvery, with the number of retries between.
const (
	stallWarnAfter = 5 * time.Second
	stallWarnEvery = 10 * time.Second
	retryLogEvery  = 3 * time.Second
	watchInterval  = 250 * time.Millisecond
)

// Retry classes of the resingest_sink_retries_total metric besides the
// store failure classes (sinks.StoreClass): a record marked retryable
// without a store class (a lost race, a closed sink).
const classTransient = "transient"

// shouldRetry reports whether a failed write may succeed later: a
// transient error, or the failure of the store as a whole, which is never
// the record's fault (a missing bucket or table, refused credentials, a KMS
// key): those are retried with backoff until the store is fixed or the
// worker stops, never dead-lettered. Unknown errors are not retried.
func shouldRetry(err error) bool {
	if sinks.IsRetryable(err) {
		return true
	}
	_, ok := sinks.AsStoreError(err)
	return ok
}

// retryClass is the class label of a retried error.
func retryClass(err error) string {
	if se, ok := sinks.AsStoreError(err); ok {
		return string(se.Class)
	}
	return classTransient
}

// storeOf names the store of a retried error: the StoreError's, else the
// sink's name.
func storeOf(sink string, err error) string {
	if se, ok := sinks.AsStoreError(err); ok && se.Store != "" {
		return se.Store
	}
	return sink
}

// stallWatch follows the writes in progress of every store: when one has
// made no progress (no record acknowledged) for the stall timeout, the
// store is stalled (readiness fails, resingest_sink_stalled is 1) until it
// makes progress again. It also rate-limits the retry log lines. Safe for
// concurrent use.
type stallWatch struct {
	timeout time.Duration

	mu     sync.Mutex
	stores map[string]*storeState
}

type storeState struct {
	active       int       // writes in progress
	progress     time.Time // last acknowledgement, or start of the oldest write after idling
	lastErr      error     // last error that caused a retry (nil after progress)
	warned       time.Time // last "no progress" line
	retryLogged  time.Time // last retry WARN line
	retriesSince int       // retries not logged at WARN since retryLogged
	stalled      bool
}

func newStallWatch(timeout time.Duration) *stallWatch {
	if timeout <= 0 {
		timeout = DefaultStallTimeout
	}
	return &stallWatch{timeout: timeout, stores: map[string]*storeState{}}
}

func (w *stallWatch) state(store string) *storeState {
	st := w.stores[store]
	if st == nil {
		st = &storeState{}
		w.stores[store] = st
	}
	return st
}

// begin registers a write to store; end must follow.
func (w *stallWatch) begin(store string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.state(store)
	if st.active == 0 {
		st.progress = time.Now() // idle time is no stall
	}
	st.active++
}

// end ends a write registered by begin.
func (w *stallWatch) end(store string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.state(store).active--
}

// progressed records that store acknowledged records.
func (w *stallWatch) progressed(store string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.state(store)
	st.progress, st.lastErr = time.Now(), nil
}

// retrying records a retry of store after err and reports whether it
// should be logged at WARN now (at most every retryLogEvery), with the
// number of retries since the last WARN line.
func (w *stallWatch) retrying(store string, err error) (warn bool, since int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.state(store)
	st.lastErr = err
	st.retriesSince++
	if now := time.Now(); now.Sub(st.retryLogged) >= retryLogEvery {
		st.retryLogged, since, st.retriesSince = now, st.retriesSince, 0
		return true, since
	}
	return false, 0
}

// stallReport is one store's state as check sees it.
type stallReport struct {
	store   string
	stalled bool
	// warn: log that the store made no progress for idle.
	warn    bool
	idle    time.Duration
	lastErr error
}

// check updates the stalled flags at now and returns every store's state.
func (w *stallWatch) check(now time.Time) []stallReport {
	w.mu.Lock()
	defer w.mu.Unlock()
	warnAfter := min(stallWarnAfter, w.timeout)
	out := make([]stallReport, 0, len(w.stores))
	for name, st := range w.stores {
		r := stallReport{store: name, lastErr: st.lastErr}
		if st.active > 0 {
			r.idle = now.Sub(st.progress)
		}
		st.stalled = r.idle >= w.timeout
		r.stalled = st.stalled
		if r.idle >= warnAfter && now.Sub(st.warned) >= stallWarnEvery {
			st.warned, r.warn = now, true
		}
		if r.idle == 0 {
			st.warned = time.Time{}
		}
		out = append(out, r)
	}
	return out
}

// stalledStores returns the stores without progress for the stall timeout.
func (w *stallWatch) stalledStores(now time.Time) []string {
	var names []string
	for _, r := range w.check(now) {
		if r.stalled {
			names = append(names, r.store)
		}
	}
	return names
}

// Stalled returns the stores that have had a write in progress without
// any progress for the stall timeout (Config.StallTimeout); empty when
// none. A worker whose Stalled is not empty is not ready.
func (p *Processor) Stalled() []string {
	return p.watch.stalledStores(time.Now())
}

// Watch logs, until ctx ends, a WARN line naming each store that made no
// progress for a few seconds (then every few seconds while it lasts), and
// keeps the resingest_sink_stalled gauge current. Run it in a goroutine
// next to the source.
func (p *Processor) Watch(ctx context.Context) {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, r := range p.watch.check(now) {
				p.cfg.Metrics.stalled(r.store, r.stalled)
				if r.warn {
					args := []any{"store", r.store, "no_progress_for", r.idle.Round(time.Millisecond), "stalled", r.stalled}
					if r.lastErr != nil {
						args = append(args, "class", retryClass(r.lastErr), "err", r.lastErr)
					} else {
						args = append(args, "err", "no answer yet (frozen or slow store?)")
					}
					p.log.Warn("store is making no progress", args...)
				}
			}
		}
	}
}

// noteRetry counts a retry of n records of sink after err, and logs it at
// WARN at a bounded rate (DEBUG otherwise), naming the store, the class
// and, for a store error, the fix.
func (p *Processor) noteRetry(sink string, n, attempt int, err error) {
	class := retryClass(err)
	p.cfg.Metrics.retries(sink, class, n)
	store := storeOf(sink, err)
	warn, since := p.watch.retrying(store, err)
	args := []any{"store", store, "sink", sink, "class", class, "records", n, "attempt", attempt, "err", err}
	if !warn {
		p.log.Debug("store write failed, retrying", args...)
		return
	}
	if se, ok := sinks.AsStoreError(err); ok && se.Fix != "" {
		args = append(args, "fix", se.Fix)
	}
	p.log.Warn("store write failed, nothing dead-lettered, retrying", append(args, "retries_since_last_line", since)...)
}
