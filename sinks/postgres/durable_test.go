package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/resingest/resingest/internal/testenv"
)

// TestSessionsCommitSynchronously opens every kind of session this package
// gives out on a URL whose sessions default to synchronous_commit=off (as
// on a server run that way) and checks that each runs with on: the sink's
// pool (records, the audit trail and dead letters as the pipeline's
// ledger, wrapped data keys as the key store, PII access rows through
// Pool), a pool and a connection from ParsePoolConfig and ParseConnConfig
// (the backfill, db migrate).
func TestSessionsCommitSynchronously(t *testing.T) {
	t.Parallel()
	off := testenv.AsyncCommitURL(t, testenv.PostgresSchema(t))
	ctx := testContext(t)
	cases := []struct {
		name string
		open func(t *testing.T) querier
	}{
		{"sink, ledger and key store (New)", func(t *testing.T) querier {
			s, err := New(ctx, off, Options{MaxConns: 2})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			return s.Pool()
		}},
		{"pool (ParsePoolConfig)", func(t *testing.T) querier {
			cfg, err := ParsePoolConfig(off)
			if err != nil {
				t.Fatal(err)
			}
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			return pool
		}},
		{"connection (ParseConnConfig, db migrate)", func(t *testing.T) querier {
			cfg, err := ParseConnConfig(off)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = conn.Close(context.Background()) })
			return conn
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v string
			if err := tc.open(t).QueryRow(ctx, "SHOW synchronous_commit").Scan(&v); err != nil {
				t.Fatal(err)
			}
			if v != "on" {
				t.Errorf("synchronous_commit = %s, want on", v)
			}
		})
	}
}

// TestParseConfigKeepsPasswordOut checks that a URL that does not parse
// gives ErrInvalidURL and nothing of the URL.
func TestParseConfigKeepsPasswordOut(t *testing.T) {
	t.Parallel()
	const bad = "postgres://u:s3cret@host:notaport/db"
	if _, err := ParsePoolConfig(bad); err != ErrInvalidURL {
		t.Errorf("ParsePoolConfig: %v, want ErrInvalidURL", err)
	}
	if _, err := ParseConnConfig(bad); err != ErrInvalidURL {
		t.Errorf("ParseConnConfig: %v, want ErrInvalidURL", err)
	}
}

// querier is what the test needs of a pool or connection.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}
