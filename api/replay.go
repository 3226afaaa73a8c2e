package api

import (
	"errors"
	"sync"
	"time"
)

// ErrReplayCacheFull is returned when more signatures are live than the
// cache holds; the request is refused rather than let through unchecked.
var ErrReplayCacheFull = errors.New("api: too many signed requests in the replay window")

// replayCache remembers the signatures accepted within the skew window.
// Entries expire roughly in insertion order (signing time plus the window,
// and accepted signing times are near now), so a FIFO queue prunes them; an
// entry queued behind a later-expiring one is only removed a little late.
// Safe for concurrent use.
//
// It is per process: with several API instances behind a load balancer a
// replay to another instance is caught only by a shared store.
type replayCache struct {
	mu    sync.Mutex
	max   int
	seen  map[string]time.Time
	queue []replayEntry
}

type replayEntry struct {
	sig     string
	expires time.Time
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, seen: make(map[string]time.Time)}
}

// add records sig until expires; ErrReplay if it is already there.
func (c *replayCache) add(sig string, expires, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queue) > 0 && !c.queue[0].expires.After(now) {
		e := c.queue[0]
		c.queue = c.queue[1:]
		if exp, ok := c.seen[e.sig]; ok && exp.Equal(e.expires) {
			delete(c.seen, e.sig)
		}
	}
	if exp, ok := c.seen[sig]; ok && exp.After(now) {
		return ErrReplay
	}
	if len(c.seen) >= c.max {
		return ErrReplayCacheFull
	}
	c.seen[sig] = expires
	c.queue = append(c.queue, replayEntry{sig: sig, expires: expires})
	return nil
}
