package lease

import (
	"context"
	"errors"
	"time"
)

// TakeResult is what one take cycle did and saw.
type TakeResult struct {
	Gained []*Held
	// Takeable counts unfinished leases that were free or expired and
	// that this worker did not take (its share was reached, or another
	// worker won the race).
	Takeable int
	// Leases is the table as read at the start of the cycle.
	Leases []Lease
}

// Take runs one take cycle: it reads the table, notes which leases' holders
// went silent for a lease duration, and takes free or expired leases up to
// this worker's fair share (unfinished leases divided by live workers,
// rounded up). When none is free and a worker holds more than the share,
// it steals one lease from the most loaded worker. Finished (SHARD_END)
// leases count for nobody.
func (m *Manager) Take(ctx context.Context) (TakeResult, error) {
	leases, err := m.t.List(ctx)
	if err != nil {
		return TakeResult{}, err
	}
	res := TakeResult{Leases: leases}
	now := time.Now()
	me := m.cfg.WorkerID

	m.mu.Lock()
	current := make(map[string]bool, len(leases))
	for _, l := range leases {
		current[l.Key] = true
		if o, ok := m.seen[l.Key]; !ok || o.counter != l.Counter || o.owner != l.Owner {
			m.seen[l.Key] = observation{counter: l.Counter, owner: l.Owner, at: now}
		}
	}
	for k := range m.seen {
		if !current[k] {
			delete(m.seen, k)
		}
	}
	counts := map[string]int{me: 0}
	var available []Lease
	byOwner := make(map[string][]Lease)
	active := 0
	for _, l := range leases {
		if l.Finished() {
			continue
		}
		active++
		if _, mine := m.held[l.Key]; mine {
			counts[me]++
			continue
		}
		expired := now.Sub(m.seen[l.Key].at) >= m.cfg.LeaseDuration
		if l.Owner == "" || l.Owner == me || expired {
			available = append(available, l)
			continue
		}
		counts[l.Owner]++
		byOwner[l.Owner] = append(byOwner[l.Owner], l)
	}
	m.mu.Unlock()

	workers := len(counts)
	target := (active + workers - 1) / workers
	need := target - counts[me]
	res.Takeable = len(available)
	if need <= 0 {
		return res, nil
	}
	shuffle(available)
	candidates := available
	if len(candidates) > need {
		candidates = candidates[:need]
	}
	stealing := len(candidates) == 0
	if stealing {
		if victim := m.chooseSteal(counts, byOwner, target, need); victim != nil {
			candidates = []Lease{*victim}
		}
	}
	for _, l := range candidates {
		got, err := m.t.Take(ctx, l, me)
		if errors.Is(err, ErrLost) {
			continue // another worker was faster
		}
		if err != nil {
			return res, err
		}
		m.log.Debug("lease taken", "shard", l.Key, "from", l.Owner, "stolen", stealing)
		h := newHeld(got)
		m.mu.Lock()
		m.held[got.Key] = h
		m.seen[got.Key] = observation{counter: got.Counter, owner: got.Owner, at: time.Now()}
		m.mu.Unlock()
		m.event(got.Key, EventGained)
		res.Gained = append(res.Gained, h)
		if !stealing {
			res.Takeable--
		}
	}
	return res, nil
}

// chooseSteal picks one lease of the most loaded worker when stealing it
// brings this worker closer to its share without pushing the victim below
// it (the KCL's rule, which keeps two workers from trading a lease back
// and forth).
func (m *Manager) chooseSteal(counts map[string]int, byOwner map[string][]Lease, target, need int) *Lease {
	most, max := "", 0
	for w, c := range counts {
		if w != m.cfg.WorkerID && (c > max || c == max && w < most) {
			most, max = w, c
		}
	}
	if most == "" || !(max > target || max == target && need > 1) {
		return nil
	}
	ls := byOwner[most]
	shuffle(ls)
	return &ls[0]
}
