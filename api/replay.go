package api

import (
	"errors"
	"sync"
	"time"
)

// ErrReplayCacheFull is returned when more signatures are live than the
// cache holds; the request is refused rather than let through unchecked.
var ErrReplayCacheFull = errors.New("api: too many signed requests in the replay window")

// replayCache remembers the signatures accepted within the skew window,
// each with the address that first sent it. The same signature again
// from that address is the client's own retry (SigV4 signatures have a
// one-second resolution, so an immediate retry of the same request is
// byte-for-byte the same) and is accepted; from any other address it is a
// captured request replayed by someone else, and is refused.
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
	seen  map[string]replaySeen
	queue []replayEntry
}

type replaySeen struct {
	expires time.Time
	addr    string
}

type replayEntry struct {
	sig     string
	expires time.Time
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, seen: make(map[string]replaySeen)}
}

// add records sig, sent from addr, until expires; ErrReplay if it is
// already there from another address.
func (c *replayCache) add(sig, addr string, expires, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queue) > 0 && !c.queue[0].expires.After(now) {
		e := c.queue[0]
		c.queue = c.queue[1:]
		if seen, ok := c.seen[e.sig]; ok && seen.expires.Equal(e.expires) {
			delete(c.seen, e.sig)
		}
	}
	if seen, ok := c.seen[sig]; ok && seen.expires.After(now) {
		if seen.addr == addr {
			return nil // the client's own retry
		}
		return ErrReplay
	}
	if len(c.seen) >= c.max {
		return ErrReplayCacheFull
	}
	c.seen[sig] = replaySeen{expires: expires, addr: addr}
	c.queue = append(c.queue, replayEntry{sig: sig, expires: expires})
	return nil
}
