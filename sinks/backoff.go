package sinks

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is a capped exponential backoff with full jitter.
// The zero value uses 50ms initial delay and a 5s cap.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// Delay returns the delay before retry attempt n (0 for the first retry):
// a random duration in [0, min(Max, Initial*2^n)].
func (b Backoff) Delay(n int) time.Duration {
	initial, max := b.Initial, b.Max
	if initial <= 0 {
		initial = 50 * time.Millisecond
	}
	if max <= 0 {
		max = 5 * time.Second
	}
	d := initial
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// Wait sleeps for Delay(n) or until ctx ends, returning ctx.Err() then.
func (b Backoff) Wait(ctx context.Context, n int) error {
	t := time.NewTimer(b.Delay(n))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
