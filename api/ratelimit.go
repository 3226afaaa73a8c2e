package api

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ProblemRateLimited is the problem type of a 429.
const ProblemRateLimited = "/problems/rate-limited"

// defaultLimiterKeys bounds how many clients one limiterSet tracks, so a
// flood of new keys (addresses, confirmation numbers) cannot grow memory
// without bound.
const defaultLimiterKeys = 100_000

// limiterSet is one token bucket per key (a client or a confirmation
// number). It is safe for concurrent use. A nil *limiterSet allows all.
type limiterSet struct {
	limit rate.Limit
	burst int
	max   int

	mu        sync.Mutex
	m         map[string]*rate.Limiter
	lastSweep time.Time
}

// newLimiterSet allows perSecond requests per key with a burst of burst;
// it returns nil (no limit) when perSecond <= 0.
func newLimiterSet(perSecond float64, burst, maxKeys int) *limiterSet {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = max(1, int(math.Ceil(perSecond)))
	}
	return &limiterSet{limit: rate.Limit(perSecond), burst: burst, max: maxKeys, m: make(map[string]*rate.Limiter)}
}

// allow takes one token of key's bucket at now, or says how long until one
// is there.
func (l *limiterSet) allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[key]
	if lim == nil {
		if len(l.m) >= l.max && !l.sweep(now) {
			// Full of clients that are all still limited: refuse rather
			// than forget one (forgetting would reset its bucket).
			return false, time.Second
		}
		lim = newLimiter(l)
		l.m[key] = lim
	}
	res := lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

func newLimiter(l *limiterSet) *rate.Limiter { return rate.NewLimiter(l.limit, l.burst) }

// sweep forgets the keys whose bucket is full again (forgetting them loses
// nothing) at most once a second, and reports whether there is room.
func (l *limiterSet) sweep(now time.Time) bool {
	if now.Sub(l.lastSweep) >= time.Second {
		l.lastSweep = now
		for k, lim := range l.m {
			if lim.TokensAt(now) >= float64(l.burst) {
				delete(l.m, k)
			}
		}
	}
	return len(l.m) < l.max
}

// clientIP is the address the connection comes from. X-Forwarded-For is
// not trusted: anyone can set it, and behind a proxy the limits apply to
// the proxy (see the report of issue 6).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// callerKey names the client whose general limit a request uses.
func callerKey(c Caller, r *http.Request) string {
	switch c.Kind {
	case GuestCaller:
		return "guest:" + c.GuestID
	case PartnerCaller:
		return "partner:" + c.partner.AccessKeyID
	}
	return "ip:" + clientIP(r)
}

// writeRateLimited answers 429 with Retry-After in whole seconds (at
// least 1).
func (s *Server) writeRateLimited(w http.ResponseWriter, r *http.Request, scope string, retryAfter time.Duration) {
	secs := max(1, int(math.Ceil(retryAfter.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	logInfoFrom(r.Context()).limited = scope
	s.metrics.rateLimited.WithLabelValues(scope).Inc()
	writeProblem(w, http.StatusTooManyRequests, ProblemRateLimited, "too many requests; retry after "+strconv.Itoa(secs)+"s")
}
