package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/sinks/postgres"
)

// TestCommandSessionsCommitSynchronously opens the Postgres sessions of the
// commands that store something, as the commands open them, on a URL whose
// sessions default to synchronous_commit=off (as on a server run that
// way), and checks that each runs with synchronous_commit=on: consume's
// sink, ledger (audit, dead letters) and key store; keys' key store;
// serve's store, whose pool the PII access log shares; the backfill's
// store (migrate).
func TestCommandSessionsCommitSynchronously(t *testing.T) {
	t.Parallel()
	base := testenv.PostgresSchema(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := postgres.MigrateURL(ctx, base); err != nil {
		t.Fatal(err)
	}
	off := testenv.AsyncCommitURL(t, base)
	cases := []struct {
		name string
		open func(t *testing.T) []querier
	}{
		{"consume: sink, ledger, key store", func(t *testing.T) []querier {
			f := storeFlags{sinks: []string{"postgres"}, pgURL: off, pgMaxConns: 2}
			st, err := f.open(ctx, slog.Default())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(st.Close)
			ledger, ok := st.ledger.(*postgres.Sink)
			if !ok {
				t.Fatalf("the ledger is a %T, not the Postgres sink", st.ledger)
			}
			return []querier{st.pg.Pool(), ledger.Pool()}
		}},
		{"keys: key store", func(t *testing.T) []querier {
			f := keyStoreFlags{pgURL: off}
			pg, err := f.open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pg.Close)
			return []querier{pg.Pool()}
		}},
		{"serve: store and PII access log", func(t *testing.T) []querier {
			f := serveFlags{store: "postgres", pgURL: off, pgMaxConns: 2}
			_, pg, closeStore, err := f.openStore(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(closeStore)
			return []querier{pg.Pool()}
		}},
		{"migrate: backfill", func(t *testing.T) []querier {
			pg, err := openBackfillStore(ctx, off, 2)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pg.Close)
			return []querier{pg.Pool()}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i, q := range tc.open(t) {
				var v string
				if err := q.QueryRow(ctx, "SHOW synchronous_commit").Scan(&v); err != nil {
					t.Fatal(err)
				}
				if v != "on" {
					t.Errorf("session %d: synchronous_commit = %s, want on", i, v)
				}
			}
		})
	}
}

// querier is what the test needs of a pool.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}
