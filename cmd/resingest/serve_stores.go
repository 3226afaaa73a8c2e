package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/resingest/resingest/api"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

// openKeys loads the PII keyring (from the Postgres of --pg-url) and wraps
// store so that guests come back decrypted; without --kek-file or
// --kms-key-id the store is read as it is (plain PII).
func (f *serveFlags) openKeys(ctx context.Context, store api.Store, pg *postgres.Sink) (api.Store, func(), error) {
	if err := f.keys.validate(); err != nil {
		return nil, nil, err
	}
	if !f.keys.enabled() {
		slog.Warn("no --kek-file or --kms-key-id: guest data is read as stored (plain)")
		return store, func() {}, nil
	}
	if f.pgURL == "" {
		return nil, nil, errors.New("--kek-file/--kms-key-id need --pg-url: the wrapped data keys live in Postgres")
	}
	closePG := func() {}
	if pg == nil {
		var err error
		if pg, err = postgres.New(ctx, f.pgURL, postgres.Options{MaxConns: 2}); err != nil {
			return nil, nil, fmt.Errorf("PII keys: %w", err)
		}
		closePG = pg.Close
	}
	kr, err := f.keys.keyring(ctx, pg, slog.Default())
	if err != nil {
		closePG()
		return nil, nil, err
	}
	return api.NewOpenedStore(store, kr), closePG, nil
}

// openStore connects the store serve reads; close releases it. pg is the
// Postgres it opened (nil with --store dynamo).
func (f *serveFlags) openStore(ctx context.Context) (st api.Store, pg *postgres.Sink, close func(), err error) {
	switch f.store {
	case "postgres":
		if f.pgURL == "" {
			return nil, nil, nil, errors.New("--store postgres needs --pg-url (or RESINGEST_PG_URL)")
		}
		pg, err := postgres.New(ctx, f.pgURL, postgres.Options{MaxConns: f.pgMaxConns})
		if err != nil {
			return nil, nil, nil, err
		}
		return api.NewPostgresStore(pg), pg, pg.Close, nil
	case "dynamo":
		client, err := dynamo.NewClient(ctx, f.dynamoEndpoint)
		if err != nil {
			return nil, nil, nil, err
		}
		sink := dynamo.New(client, dynamo.Options{Table: f.dynamoTable})
		return api.NewDynamoStore(sink), nil, func() { _ = sink.Close() }, nil
	}
	return nil, nil, nil, fmt.Errorf("--store: %q is not dynamo or postgres", f.store)
}

// openAudit starts the PII access audit on the Postgres of --pg-url (pg
// when the store already opened it) and returns that Postgres too. Without
// --pg-url there is none and every caller sees contact data masked. close
// flushes it.
func (f *serveFlags) openAudit(ctx context.Context, pg *postgres.Sink) (audit *api.AccessAudit, auditPG *postgres.Sink, close func(), err error) {
	if f.pgURL == "" {
		slog.Warn("no --pg-url: no PII access audit, so guests' contact data is masked for every caller")
		return nil, nil, func() {}, nil
	}
	closePG := func() {}
	if pg == nil {
		if pg, err = postgres.New(ctx, f.pgURL, postgres.Options{MaxConns: 2}); err != nil {
			return nil, nil, nil, fmt.Errorf("PII access audit: %w", err)
		}
		closePG = pg.Close
	}
	log := api.NewPostgresAccessLog(pg)
	if err := log.Check(ctx); err != nil {
		closePG()
		return nil, nil, nil, fmt.Errorf("%w (run 'resingest db migrate')", err)
	}
	audit = api.NewAccessAudit(log, api.AuditOptions{Logger: slog.Default()})
	return audit, pg, func() {
		cctx, cancel := context.WithTimeout(context.Background(), f.shutdownGrace)
		defer cancel()
		if err := audit.Close(cctx); err != nil {
			slog.Error("PII access audit not fully written", "err", err)
		}
		closePG()
	}, nil
}
