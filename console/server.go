package console

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/resingest/resingest/ledger"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/archive"
	"github.com/resingest/resingest/sinks/postgres"
)

// Defaults of Options.
const (
	DefaultAddr        = "127.0.0.1:8090"
	DefaultPageTimeout = 10 * time.Second
	// DefaultReplayTimeout bounds a replay started from the console (up to
	// maxReplayLetters letters through every store).
	DefaultReplayTimeout = 5 * time.Minute
	maxTimeline          = 500
)

// Postgres is what the console reads from Postgres (sinks/postgres.Sink).
type Postgres interface {
	lineageReader
	deadLetterReader
	healthReader
	PIILog
}

type lineageReader interface {
	History(ctx context.Context, k reservation.Key, limit int) ([]postgres.HistoryEntry, error)
	Get(ctx context.Context, k reservation.Key) (reservation.Reservation, string, error)
	KeysByConfirmation(ctx context.Context, confirmation string, limit int) ([]reservation.Key, error)
	GuestKeys(ctx context.Context, emailIndex, from, to string, limit int) ([]reservation.Key, error)
}

type deadLetterReader interface {
	ListDeadLetters(ctx context.Context, f ledger.DeadLetterFilter) ([]ledger.DeadLetter, error)
	GetDeadLetter(ctx context.Context, id int64) (ledger.DeadLetter, error)
}

type healthReader interface {
	OutcomesOverTime(ctx context.Context, since, until time.Time, bucket time.Duration) ([]postgres.OutcomeCount, error)
	DeadLettersByReason(ctx context.Context, since, until time.Time) ([]postgres.ReasonCount, error)
	HotelQuality(ctx context.Context, since, until time.Time, sort string, limit int) ([]postgres.HotelQuality, error)
	PendingStats(ctx context.Context) (records int, oldest time.Time, err error)
	SampleKeys(ctx context.Context, n int) ([]reservation.Key, error)
}

// PIILog records views of guests' personal data (table pii_access).
type PIILog interface {
	WritePIIAccess(ctx context.Context, rows []postgres.PIIAccess) error
}

// Dynamo reads DynamoDB's copy of a reservation (sinks/dynamo.Sink).
type Dynamo interface {
	Get(ctx context.Context, k reservation.Key) (reservation.Reservation, string, error)
}

// Archive reads archived messages (sinks/archive.Sink, opened with the
// keyring when the archive is sealed).
type Archive interface {
	Read(ctx context.Context, key string) ([]archive.Entry, error)
	ReadDeadLetter(ctx context.Context, key string) ([]byte, error)
}

// Parser extracts the records of an archived message again, for the
// diffs between versions (parse.Parser).
type Parser interface {
	Parse(msg []byte) ([]reservation.Reservation, error)
}

// Opener opens sealed guest data and dead letters and computes blind
// indexes (pii.Keyring); nil when the stores hold plain data.
type Opener interface {
	OpenGuests(ctx context.Context, guests []reservation.Guest) ([]reservation.Guest, error)
	OpenBlob(ctx context.Context, purpose string, b []byte) ([]byte, error)
	BlindIndex(kind, value string) string
}

// Replayer replays dead letters (pipeline.Replay over the console's
// processor, the same code as `resingest dlq replay`).
type Replayer interface {
	Replay(ctx context.Context, opts pipeline.ReplayOptions) (pipeline.ReplayReport, error)
}

// Options configure a Server.
type Options struct {
	Postgres Postgres // required
	Dynamo   Dynamo   // nil: Postgres only
	Archive  Archive  // nil: no archived messages, no diffs
	Parser   Parser   // required with Archive
	Opener   Opener   // nil: plain guest data
	Replayer Replayer // nil: dead letters cannot be replayed here
	// Verifiers check staff tokens, in order; at least one.
	Verifiers []Verifier
	// Lag reads the Kafka consumer group's lag per partition; nil: not shown.
	Lag LagReader
	// Leases lists the Kinesis shard leases; nil: not shown.
	Leases LeaseLister
	// Metrics receive the sampled agreement check; nil: not exported.
	Metrics *Metrics
	Logger  *slog.Logger
	// PageTimeout bounds the store calls of one page (DefaultPageTimeout).
	PageTimeout time.Duration
	// ReplayTimeout bounds a replay (DefaultReplayTimeout).
	ReplayTimeout time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Server is the console's HTTP handler. Safe for concurrent use.
type Server struct {
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	pages   map[string]*template.Template
	csrfKey []byte

	agreement agreementState
}

//go:embed assets
var assets embed.FS

// New checks opts and builds the handler.
func New(opts Options) (*Server, error) {
	switch {
	case opts.Postgres == nil:
		return nil, errors.New("console: Options.Postgres is required")
	case len(opts.Verifiers) == 0:
		return nil, errors.New("console: no token verifier: staff could not sign in (set a JWT secret or a JWKS URL)")
	case opts.Archive != nil && opts.Parser == nil:
		return nil, errors.New("console: Options.Parser is required with an Archive")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.PageTimeout <= 0 {
		opts.PageTimeout = DefaultPageTimeout
	}
	if opts.ReplayTimeout <= 0 {
		opts.ReplayTimeout = DefaultReplayTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, log: opts.Logger, csrfKey: make([]byte, 32)}
	if _, err := rand.Read(s.csrfKey); err != nil {
		return nil, fmt.Errorf("console: csrf key: %w", err)
	}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /assets/console.css", s.css)
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	m.HandleFunc("GET /signin", s.signinForm)
	m.HandleFunc("POST /signin", s.signin)
	m.HandleFunc("POST /signout", s.signout)
	m.Handle("GET /{$}", s.page(s.home))
	m.Handle("GET /search", s.page(s.search))
	m.Handle("GET /reservations/{hotel}/{confirmation}", s.page(s.reservation))
	m.Handle("GET /messages", s.page(s.message))
	m.Handle("GET /dead-letters", s.page(s.deadLetters))
	m.Handle("GET /dead-letters/{id}", s.page(s.deadLetter))
	m.Handle("POST /dead-letters/replay", s.page(s.replay))
	m.Handle("GET /health", s.page(s.health))
	m.Handle("GET /hotels", s.page(s.hotels))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, nil, &pageError{status: http.StatusNotFound, msg: "No such page."})
	})
	s.mux = m
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("console: handler panic", "route", r.Pattern, "panic", fmt.Sprint(v))
			s.fail(w, r, nil, &pageError{status: http.StatusServiceUnavailable, msg: "The console hit an internal error; the error is logged."})
		}
	}()
	s.mux.ServeHTTP(w, r)
}

// pageError is an answer other than 200, with a message safe to show.
type pageError struct {
	status int
	msg    string
	err    error // logged, never shown
}

func (e *pageError) Error() string { return e.msg }

func badRequest(format string, args ...any) *pageError {
	return &pageError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

func notFound(msg string) *pageError { return &pageError{status: http.StatusNotFound, msg: msg} }

// storeDown turns a store's failure into a 503 naming the store.
func storeDown(store string, err error) *pageError {
	return &pageError{status: http.StatusServiceUnavailable, err: err,
		msg: store + " did not answer; try again in a moment (the error is logged)."}
}

// view is what a page handler returns: a template and its data.
type view struct {
	page  string
	title string
	data  any
	// redirect, when set, answers 303 See Other to this local path.
	redirect string
}

// pageFunc is a page handler for a signed-in member of staff.
type pageFunc func(ctx context.Context, r *http.Request, rc *requestCtx) (view, error)

// requestCtx is the signed-in request.
type requestCtx struct {
	staff Staff
	cred  credential
	csrf  string
}

func (s *Server) page(fn pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cred, ok := credentialOf(r)
		if !ok {
			s.needSignin(w, r, "Sign in with a staff token.")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.PageTimeout)
		defer cancel()
		staff, err := s.verify(ctx, cred.token)
		if err != nil {
			msg := "The token was refused (invalid, expired, or not a staff token); sign in again."
			if errors.Is(err, ErrNoRole) {
				msg = "The token carries neither the ops nor the ops-pii role."
			}
			s.log.Info("console: token refused", "route", r.Pattern, "reason", authReason(err))
			s.needSignin(w, r, msg)
			return
		}
		rc := &requestCtx{staff: staff, cred: cred, csrf: s.csrfToken(cred)}
		if r.Method == http.MethodPost && !sameOrigin(r, cred) {
			s.fail(w, r, rc, &pageError{status: http.StatusForbidden, msg: "Refused: the request did not come from a console page."})
			return
		}
		v, err := fn(ctx, r, rc)
		if err != nil {
			s.fail(w, r, rc, err)
			return
		}
		if v.redirect != "" {
			http.Redirect(w, r, v.redirect, http.StatusSeeOther)
			return
		}
		s.render(w, r, http.StatusOK, rc, v)
	})
}

// authReason is a fixed word for the log: never the token.
func authReason(err error) string {
	switch {
	case errors.Is(err, ErrNoRole):
		return "no role"
	case errors.Is(err, ErrUnauthorized):
		return "invalid token"
	}
	return "other"
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, rc *requestCtx, err error) {
	var pe *pageError
	if !errors.As(err, &pe) {
		pe = &pageError{status: http.StatusServiceUnavailable, err: err, msg: "The page could not be built; the error is logged."}
	}
	if pe.err != nil {
		s.log.Warn("console: page failed", "route", r.Pattern, "status", pe.status, "err", pe.err)
	}
	s.render(w, r, pe.status, rc, view{page: "error", title: http.StatusText(pe.status), data: pe.msg})
}

func (s *Server) needSignin(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="resingest-console"`)
	s.render(w, r, http.StatusUnauthorized, nil, view{page: "signin", title: "Sign in", data: msg})
}
