package lease

import (
	"sync"
	"time"
)

// Held is a lease this worker holds. Its renewals and checkpoints are
// serialised on it (both increment the counter the next write is
// conditional on). Safe for concurrent use.
type Held struct {
	mu      sync.Mutex
	lease   Lease
	renewed time.Time // last successful write, on this worker's clock
	lost    chan struct{}
	once    sync.Once
}

func newHeld(l Lease) *Held {
	return &Held{lease: l, renewed: time.Now(), lost: make(chan struct{})}
}

// Lease returns the lease as this worker last wrote it.
func (h *Held) Lease() Lease {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease
}

// Key is the shard id.
func (h *Held) Key() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease.Key
}

// Lost is closed once the lease is lost, released or finished: the shard's
// reader must stop and must not checkpoint any more.
func (h *Held) Lost() <-chan struct{} { return h.lost }

// IsLost reports whether Lost is closed.
func (h *Held) IsLost() bool {
	select {
	case <-h.lost:
		return true
	default:
		return false
	}
}

func (h *Held) markLost() bool {
	first := false
	h.once.Do(func() { close(h.lost); first = true })
	return first
}
