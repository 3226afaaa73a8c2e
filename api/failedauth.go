package api

import (
	"net/http"
	"time"
)

// DefaultFailedAuthWindow is the window of Options.FailedAuthLimit.
const DefaultFailedAuthWindow = 15 * time.Minute

// newFailureSet tracks failed attempts per address: a bucket of limit
// tokens refilled over window, one taken per failure. It returns nil (no
// limit) when limit <= 0.
func newFailureSet(limit int, window time.Duration) *limiterSet {
	if limit <= 0 {
		return nil
	}
	return newLimiterSet(float64(limit)/window.Seconds(), limit, defaultLimiterKeys)
}

// blocked reports whether key has no attempt left at now, and how long
// until it has one. Unlike allow it takes nothing: only failures do.
func (l *limiterSet) blocked(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return false, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[key]
	if lim == nil {
		return false, 0
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - tokens) / float64(l.limit) * float64(time.Second))
}

// fail takes one attempt from key at now (none left: nothing changes).
func (l *limiterSet) fail(key string, now time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[key]
	if lim == nil {
		if len(l.m) >= l.max && !l.sweep(now) {
			return // full of addresses that are all still counted
		}
		lim = newLimiter(l)
		l.m[key] = lim
	}
	lim.AllowN(now, 1)
}

// refuseBlocked answers 429 when the request's address has used up its
// failed attempts (sign-ins with invalid credentials, lookups that found
// nothing). It is checked before any credential or lookup is, so a
// blocked address learns nothing more until Retry-After; it is separate
// from the per-client limit, which counts every request. ok is false when
// a response was written.
func (s *Server) refuseBlocked(w http.ResponseWriter, r *http.Request) (ok bool) {
	if blocked, wait := s.failures.blocked(clientIP(r), s.opts.Now()); blocked {
		s.writeRateLimited(w, r, "failed_auth", wait)
		return false
	}
	return true
}

// recordFailure counts a failed attempt of the request's address.
func (s *Server) recordFailure(r *http.Request) {
	s.failures.fail(clientIP(r), s.opts.Now())
}
