package postgres

import (
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SyncCommitParam and SyncCommitOn are the session setting every
// connection opened by this package (and by ParsePoolConfig and
// ParseConnConfig) starts with: commits wait for the WAL flush, whatever
// the server's default. A server run with synchronous_commit=off (a
// development server, an Aurora parameter group) otherwise acknowledges a
// commit that a crash right after it loses: the worker would have
// committed its offsets past records no store keeps. See DESIGN.md,
// Storage: Durability.
const (
	SyncCommitParam = "synchronous_commit"
	SyncCommitOn    = "on"
)

// ParsePoolConfig parses url (a postgres:// URL or a key=value DSN) into a
// pool configuration whose sessions commit synchronously. Every pool that
// writes (records, audit, dead letters, keys, PII access rows, backfill
// progress) is opened from it. A URL that does not parse gives
// ErrInvalidURL and no more: the parser's message may quote the password.
func ParsePoolConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, ErrInvalidURL
	}
	durable(cfg.ConnConfig)
	return cfg, nil
}

// ParseConnConfig is ParsePoolConfig for a single connection.
func ParseConnConfig(url string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, ErrInvalidURL
	}
	durable(cfg)
	return cfg, nil
}

// durable makes cfg's sessions commit synchronously. The setting travels
// in the startup message, so it holds from the session's first statement,
// and it overrides an options=-c synchronous_commit=off in the URL.
func durable(cfg *pgx.ConnConfig) {
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = make(map[string]string)
	}
	cfg.RuntimeParams[SyncCommitParam] = SyncCommitOn
}
