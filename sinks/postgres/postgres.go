package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Options bound the connection pool. Zero values keep pgxpool's defaults
// (or what the URL's pool_* parameters say).
type Options struct {
	// MaxConns caps the open connections; Aurora's max_connections is
	// shared by every worker, so keep it small (default: max(4, NumCPU)).
	MaxConns int32
	// MinConns connections are kept open even when idle.
	MinConns int32
	// MaxConnLifetime recycles connections, so that a fail-over or a new
	// reader endpoint is picked up.
	MaxConnLifetime time.Duration
	// MaxConnIdleTime closes connections idle that long.
	MaxConnIdleTime time.Duration
	// WriteConcurrency is how many statements a large Write splits into,
	// run at once on separate connections; records are split by key, so
	// no key is in two of them (default: GOMAXPROCS, at most 4; never more
	// than the pool's connections).
	WriteConcurrency int
	// AttemptTimeout bounds each write attempt (Write's transactions,
	// WriteAudit, WriteDeadLetters) with a context deadline, and every
	// statement of the pool's sessions with statement_timeout, and each
	// connect: a frozen or unreachable server fails the attempt (a
	// transient *sinks.StoreError) instead of hanging. 0: no bound (bulk
	// loads and migrations, whose statements may run long).
	AttemptTimeout time.Duration
	// RewriteEqual makes Write replace a stored reservation of the same
	// version too, not only an older one: a refresh, which re-extracts
	// stored versions so that a field added since reaches them
	// (resingest migrate --format xml --refresh). A newer stored version
	// still wins. Off for the stream.
	RewriteEqual bool
}

// maxDefaultWriters caps the default WriteConcurrency: past a few
// statements the server's CPUs, not the round trips, are the limit.
const maxDefaultWriters = 4

// ErrInvalidURL is returned for a connection URL that does not parse. It
// says no more: the parser's message may quote the URL and its password.
var ErrInvalidURL = errors.New("postgres: invalid connection URL")

// Sink stores reservations, audit rows and dead letters in Postgres.
// It is safe for concurrent use; concurrency is bounded by the pool.
type Sink struct {
	pool    *pgxpool.Pool
	writers int // WriteConcurrency, resolved
	// attemptTimeout is Options.AttemptTimeout.
	attemptTimeout time.Duration
	// parentsSQL is writeParentsSQL, or writeParentsRefreshSQL with
	// Options.RewriteEqual.
	parentsSQL string
	closeOnce  sync.Once
}

// New opens a pool on url (a postgres:// URL or a key=value DSN) and checks
// that the server answers. It does not migrate the schema: see Migrate.
func New(ctx context.Context, url string, opts Options) (*Sink, error) {
	// Sessions commit synchronously (durable.go). The parse error may
	// quote the URL and its password: ParsePoolConfig does not wrap it.
	cfg, err := ParsePoolConfig(url)
	if err != nil {
		return nil, err
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.MinConns > 0 {
		cfg.MinConns = opts.MinConns
	}
	if opts.MaxConnLifetime > 0 {
		cfg.MaxConnLifetime = opts.MaxConnLifetime
	}
	if opts.MaxConnIdleTime > 0 {
		cfg.MaxConnIdleTime = opts.MaxConnIdleTime
	}
	if opts.AttemptTimeout > 0 {
		if cfg.ConnConfig.ConnectTimeout <= 0 || cfg.ConnConfig.ConnectTimeout > opts.AttemptTimeout {
			cfg.ConnConfig.ConnectTimeout = opts.AttemptTimeout
		}
		if _, set := cfg.ConnConfig.RuntimeParams["statement_timeout"]; !set {
			cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(opts.AttemptTimeout.Milliseconds(), 10)
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool: %w", classify(err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: ping: %w", classify(err))
	}
	writers := opts.WriteConcurrency
	if writers <= 0 {
		writers = min(runtime.GOMAXPROCS(0), maxDefaultWriters)
	}
	parents := writeParentsSQL
	if opts.RewriteEqual {
		parents = writeParentsRefreshSQL
	}
	return &Sink{pool: pool, writers: max(1, min(writers, int(cfg.MaxConns))), attemptTimeout: opts.AttemptTimeout, parentsSQL: parents}, nil
}

// Pool returns the sink's connection pool, for readers (the API) that share
// it. The pool is closed by Close.
func (s *Sink) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool, waiting for connections in use to be returned.
// It may be called more than once.
func (s *Sink) Close() {
	s.closeOnce.Do(s.pool.Close)
}

// Migrate applies the embedded migrations through the sink's pool; see the
// package function Migrate.
func (s *Sink) Migrate(ctx context.Context) ([]Migration, error) { return Migrate(ctx, s.pool) }

// attempt bounds one write attempt by Options.AttemptTimeout (when set).
func (s *Sink) attempt(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.attemptTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.attemptTimeout)
}
