package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Lease events passed to Config.OnChange.
const (
	EventGained   = "gained"
	EventLost     = "lost"
	EventReleased = "released"
	EventFinished = "finished"
)

// Config configures a Manager.
type Config struct {
	// WorkerID is this worker's leaseOwner value; unique per live worker.
	WorkerID string
	// LeaseDuration is how long a lease's counter may stand still before
	// other workers consider its holder dead (default 10s).
	LeaseDuration time.Duration
	// RenewInterval paces renewals (default a third of LeaseDuration).
	RenewInterval time.Duration
	Logger        *slog.Logger
	// OnChange, when set, is called with each lease event (metrics).
	OnChange func(shard, event string)
}

// observation is when this worker last saw a lease's counter or owner change.
type observation struct {
	counter int64
	owner   string
	at      time.Time
}

// Manager takes, renews, checkpoints and releases this worker's leases.
// Safe for concurrent use; Take is meant for one goroutine (the taker
// loop) and RunRenewer for another.
type Manager struct {
	t   *Table
	cfg Config
	log *slog.Logger

	mu   sync.Mutex
	held map[string]*Held
	seen map[string]observation
}

// NewManager returns a Manager of table t.
func NewManager(t *Table, cfg Config) (*Manager, error) {
	if cfg.WorkerID == "" {
		return nil, errors.New("lease: a worker id is required")
	}
	if cfg.LeaseDuration <= 0 {
		cfg.LeaseDuration = 10 * time.Second
	}
	if cfg.RenewInterval <= 0 {
		cfg.RenewInterval = cfg.LeaseDuration / 3
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Manager{t: t, cfg: cfg, log: log.With("worker", cfg.WorkerID),
		held: make(map[string]*Held), seen: make(map[string]observation)}, nil
}

// Table is the manager's lease table.
func (m *Manager) Table() *Table { return m.t }

// WorkerID is this worker's id.
func (m *Manager) WorkerID() string { return m.cfg.WorkerID }

// HeldCount is the number of leases this worker holds now.
func (m *Manager) HeldCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.held)
}

func (m *Manager) event(shard, ev string) {
	if m.cfg.OnChange != nil {
		m.cfg.OnChange(shard, ev)
	}
}

// lose forgets h and closes its Lost channel.
func (m *Manager) lose(h *Held, ev string) {
	key := h.lease.Key // the caller holds h.mu
	m.mu.Lock()
	if m.held[key] == h {
		delete(m.held, key)
	}
	m.mu.Unlock()
	if h.markLost() {
		m.event(key, ev)
	}
}

// Checkpoint records cp on h. ErrLost (and h's Lost closed) when another
// worker has it now: nothing is written then.
func (m *Manager) Checkpoint(ctx context.Context, h *Held, cp string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.IsLost() {
		return fmt.Errorf("lease %s: checkpoint: %w", h.lease.Key, ErrLost)
	}
	l, err := m.t.Checkpoint(ctx, h.lease, m.cfg.WorkerID, cp)
	if errors.Is(err, ErrLost) && m.adopt(ctx, h) {
		l, err = m.t.Checkpoint(ctx, h.lease, m.cfg.WorkerID, cp)
	}
	if errors.Is(err, ErrLost) {
		m.lose(h, EventLost)
	}
	if err != nil {
		return err
	}
	h.lease, h.renewed = l, time.Now()
	return nil
}

// adopt re-reads h after a conditional write failed. Other workers only
// write a lease to take it (and so change its owner); if this worker still
// owns it, the counter moved by an earlier write of ours whose answer was
// lost (a timeout, a cancelled request), and h adopts it. The caller holds
// h.mu.
func (m *Manager) adopt(ctx context.Context, h *Held) bool {
	l, err := m.t.Get(ctx, h.lease.Key)
	if err != nil || l.Owner != m.cfg.WorkerID {
		return false
	}
	h.lease = l
	return true
}

// Finish stops renewing h after its shard was checkpointed at ShardEnd;
// the lease keeps its owner and checkpoint so children can start.
func (m *Manager) Finish(h *Held) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m.lose(h, EventFinished)
}

// renew renews one held lease; a lease that could not be renewed for a
// whole lease duration is given up, since others may have taken it.
func (m *Manager) renew(ctx context.Context, h *Held) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.IsLost() {
		return
	}
	l, err := m.t.Renew(ctx, h.lease, m.cfg.WorkerID)
	if errors.Is(err, ErrLost) && m.adopt(ctx, h) {
		l, err = m.t.Renew(ctx, h.lease, m.cfg.WorkerID)
	}
	switch {
	case err == nil:
		h.lease, h.renewed = l, time.Now()
	case errors.Is(err, ErrLost):
		m.log.Warn("lease lost", "shard", h.lease.Key)
		m.lose(h, EventLost)
	case time.Since(h.renewed) >= m.cfg.LeaseDuration:
		m.log.Warn("lease not renewed for a lease duration, giving it up", "shard", h.lease.Key, "err", err)
		m.lose(h, EventLost)
	default:
		m.log.Warn("lease renewal failed, retrying", "shard", h.lease.Key, "err", err)
	}
}

// RunRenewer renews every held lease each RenewInterval until ctx ends.
// Run it on its own goroutine: record processing never delays it.
func (m *Manager) RunRenewer(ctx context.Context) {
	t := time.NewTicker(m.cfg.RenewInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, h := range m.snapshot() {
			if ctx.Err() != nil {
				return
			}
			// A renewal that was sent completes even when ctx ends
			// meanwhile: a cancelled request may still be applied,
			// leaving this worker with a stale counter.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.LeaseDuration)
			m.renew(rctx, h)
			cancel()
		}
	}
}

func (m *Manager) snapshot() []*Held {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Held, 0, len(m.held))
	for _, h := range m.held {
		out = append(out, h)
	}
	return out
}

// ReleaseAll removes this worker as owner of every lease it holds, so
// other workers take them at once. Call it after the readers stopped.
func (m *Manager) ReleaseAll(ctx context.Context) error {
	var errs []error
	for _, h := range m.snapshot() {
		h.mu.Lock()
		if !h.IsLost() {
			_, err := m.t.Release(ctx, h.lease, m.cfg.WorkerID)
			if errors.Is(err, ErrLost) && m.adopt(ctx, h) {
				_, err = m.t.Release(ctx, h.lease, m.cfg.WorkerID)
			}
			if err != nil && !errors.Is(err, ErrLost) {
				errs = append(errs, err)
			}
			m.lose(h, EventReleased)
		}
		h.mu.Unlock()
	}
	return errors.Join(errs...)
}

// shuffle randomises the order in which workers try leases, so that two
// workers taking at once rarely race for the same one.
func shuffle(ls []Lease) {
	rand.Shuffle(len(ls), func(i, j int) { ls[i], ls[j] = ls[j], ls[i] })
}
