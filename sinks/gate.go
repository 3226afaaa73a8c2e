package sinks

import "sync"

// Gate lets writes in until it is closed, and Close waits for the writes
// already in. Sinks use it to make Close idempotent and safe to call while
// writes run. The zero value is open; a Gate must not be copied. Safe for
// concurrent use.
type Gate struct {
	mu       sync.RWMutex // guards closed against inflight.Add
	closed   bool
	inflight sync.WaitGroup
}

// Enter registers a write and reports true, or reports false once the gate
// is closed. Every true must be followed by one Leave.
func (g *Gate) Enter() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return false
	}
	g.inflight.Add(1)
	return true
}

// Leave ends a write registered by Enter.
func (g *Gate) Leave() { g.inflight.Done() }

// Close refuses new writes and waits for those in progress. It may be
// called more than once.
func (g *Gate) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.inflight.Wait()
}
