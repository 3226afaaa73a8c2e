package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/resingest/resingest/reservation"
)

// Defaults of Options.
const (
	DefaultSkew          = 5 * time.Minute
	DefaultMaxBodyBytes  = 16 << 10
	DefaultShutdownGrace = 30 * time.Second
	defaultReplayEntries = 1 << 20
)

// Options configures a Server.
type Options struct {
	// Store is where reservations are read. Required.
	Store Store
	// Guests verifies HS256 guest bearer tokens; nil refuses them.
	Guests *GuestTokens
	// JWKS verifies guest tokens signed RS256/ES256 by an identity
	// provider; nil refuses them. The server does not close it.
	JWKS *JWKS
	// Partners is the partner table; nil refuses every signed request.
	Partners *Partners
	// Region is the SigV4 region partners sign for (DefaultRegion when "").
	Region string
	// Skew is how far X-Amz-Date may be from now (DefaultSkew when 0).
	Skew time.Duration
	// MaxBodyBytes bounds request bodies (DefaultMaxBodyBytes when 0).
	MaxBodyBytes int64
	// ShutdownGrace bounds how long Serve waits for requests in flight
	// after its context ends (DefaultShutdownGrace when 0).
	ShutdownGrace time.Duration
	// Logger receives access logs (slog.Default() when nil).
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// RateLimit is how many requests per second one client (a guest, a
	// partner key, else an address) may make, with bursts of twice that;
	// 0 is no limit.
	RateLimit float64
	// LookupRateLimit is how many lookups per minute one address may
	// take, and how many of one confirmation number one address may take;
	// 0 is no limit. Partners are limited the same way (per access key)
	// unless they name one of their own hotels. Lookups need no
	// credentials, so this is what stops guessing surnames. Misses of one
	// confirmation from all addresses together past this rate count in
	// the lookup anomaly metric; they refuse nobody.
	LookupRateLimit float64
	// FailedAuthLimit is how many failed attempts (requests with invalid
	// credentials, lookups that match nothing) one address may make per
	// FailedAuthWindow before its requests are refused with 429; 0 is no
	// limit. Independent of RateLimit.
	FailedAuthLimit int
	// Audit records every response that shows guests' contact data
	// unmasked. Nil: nobody sees it unmasked (partners with ScopePII and
	// guests included). The server does not close it.
	Audit *AccessAudit
	// FailedAuthWindow is DefaultFailedAuthWindow when 0.
	FailedAuthWindow time.Duration
}

// Server is the itinerary API. Its handler is safe for concurrent use.
type Server struct {
	opts   Options
	sigv4  *sigV4Verifier
	log    *slog.Logger
	routes http.Handler

	metrics            *apiMetrics
	docs               []byte      // the /docs page
	limits             *limiterSet // per client
	lookupByCaller     *limiterSet // lookups per address (partners: per key)
	lookupByCallerConf *limiterSet // lookups per (address or key, confirmation)
	lookupMissesByConf *limiterSet // misses per confirmation, for the anomaly metric only
	failures           *limiterSet // failed attempts per address

	// lastLookupKey is a reservation a lookup read; a lookup that finds
	// nothing reads it instead (and discards it).
	lastLookupKey atomic.Pointer[reservation.Key]
}

// New returns a server over opts.Store.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("api: a store is required")
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.Skew <= 0 {
		opts.Skew = DefaultSkew
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = DefaultShutdownGrace
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FailedAuthWindow <= 0 {
		opts.FailedAuthWindow = DefaultFailedAuthWindow
	}
	s := &Server{
		opts: opts,
		log:  opts.Logger,
		sigv4: &sigV4Verifier{
			partners: opts.Partners, region: opts.Region, skew: opts.Skew, now: opts.Now,
			signer: v4.NewSigner(), seen: newReplayCache(defaultReplayEntries),
		},
		metrics:            newAPIMetrics(opts.Audit),
		limits:             newLimiterSet(opts.RateLimit, int(math.Ceil(2*opts.RateLimit)), defaultLimiterKeys),
		lookupByCaller:     newLimiterSet(opts.LookupRateLimit/60, int(math.Ceil(opts.LookupRateLimit)), defaultLimiterKeys),
		lookupByCallerConf: newLimiterSet(opts.LookupRateLimit/60, int(math.Ceil(opts.LookupRateLimit)), defaultLimiterKeys),
		lookupMissesByConf: newLimiterSet(opts.LookupRateLimit/60, int(math.Ceil(opts.LookupRateLimit)), defaultLimiterKeys),
		failures:           newFailureSet(opts.FailedAuthLimit, opts.FailedAuthWindow),
	}
	docs, err := docsPage()
	if err != nil {
		return nil, err
	}
	s.docs = docs
	mux := http.NewServeMux()
	for _, rt := range s.routeTable() {
		mux.Handle(rt.pattern, rt.handler)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { notRouted(mux, w, r) })
	s.routes = mux
	return s, nil
}

// route is one endpoint: pattern is "METHOD /path" as http.ServeMux
// takes it (and as openapi.json lists it).
type route struct {
	pattern string
	handler http.Handler
}

// routeTable is every endpoint; the OpenAPI test checks the document
// against it.
func (s *Server) routeTable() []route {
	return []route{
		{"GET /healthz", http.HandlerFunc(s.healthz)},
		{"GET /readyz", http.HandlerFunc(s.readyz)},
		{"GET /openapi.json", http.HandlerFunc(serveOpenAPI)},
		{"GET /docs", http.HandlerFunc(s.serveDocs)},
		{"GET /v1/reservations/{hotel_code}/{confirmation}", http.HandlerFunc(s.getReservation)},
		{"GET /v1/hotels/{hotel_code}/arrivals", http.HandlerFunc(s.arrivals)},
		{"GET /v1/guests/me/itineraries", http.HandlerFunc(s.guestItineraries)},
		{"POST /v1/itineraries/lookup", http.HandlerFunc(s.lookup)},
	}
}

// Handler returns the API with its security-header, request-id,
// access-log, recovery and ETag/gzip middleware.
func (s *Server) Handler() http.Handler {
	return withSecurityHeaders(s.withRequestID(s.withAccessLog(withEncoding(s.routes))))
}

// AdminHandler serves the operators' endpoints, which the public
// listener does not: GET /metrics (Prometheus: per-route and per-status
// counts, rate-limit and lookup-anomaly counters, the PII audit's
// counters). Serve it on a listener only operators reach (serve
// --admin-addr, loopback by default).
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.handler)
	return withSecurityHeaders(mux)
}

// ServeAdmin serves AdminHandler on ln until ctx ends.
func (s *Server) ServeAdmin(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.AdminHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("api: serve admin: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: serve admin: %w", err)
	}
	return nil
}

// Serve serves on ln until ctx ends, then stops accepting connections and
// waits (up to ShutdownGrace) for the requests in flight to finish. It
// returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && serr != nil {
		return fmt.Errorf("api: serve: %w", serr)
	}
	if err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.opts.Store.Ready(ctx); err != nil {
		s.log.WarnContext(ctx, "store not ready", "request_id", requestIDFrom(ctx), "err", err)
		writeProblem(w, http.StatusServiceUnavailable, ProblemUnavailable, "the store does not answer")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// notRouted answers what no route took, as problem+json: 405 with Allow
// when the path exists for other methods, else 404. (The catch-all "/"
// takes every method, so the mux's own plain-text 405 never happens.)
func notRouted(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, http.StatusMethodNotAllowed, ProblemMethod, "method not allowed here")
		return
	}
	writeProblem(w, http.StatusNotFound, ProblemNotFound, "no such endpoint")
}
