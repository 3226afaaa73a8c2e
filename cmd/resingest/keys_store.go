package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/sinks/postgres"
)

// keyStoreFlags are the settings of the commands that only touch keys.
type keyStoreFlags struct {
	pgURL string
	keys  keyFlags
}

func (f *keyStoreFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.pgURL, "pg-url", "", "Postgres URL holding the wrapped keys (env RESINGEST_PG_URL)")
	f.keys.register(cmd)
}

func (f *keyStoreFlags) validate() error {
	if f.pgURL == "" {
		return errNoPGURL
	}
	if !f.keys.enabled() {
		return errors.New("no key-encryption key: set --kek-file (development) or --kms-key-id (production)")
	}
	return f.keys.validate()
}

func (f *keyStoreFlags) open(ctx context.Context) (*postgres.Sink, error) {
	return postgres.New(ctx, f.pgURL, postgres.Options{MaxConns: 2})
}

// openChecked validates the flags, opens the key store and checks that the
// KEK opens every stored key. The caller closes the store.
func (f *keyStoreFlags) openChecked(ctx context.Context) (pii.KEK, *postgres.Sink, error) {
	if err := f.validate(); err != nil {
		return nil, nil, err
	}
	kek, err := f.keys.kek(ctx)
	if err != nil {
		return nil, nil, err
	}
	pg, err := f.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	if _, err := pii.Load(ctx, pg, kek); err != nil {
		pg.Close()
		return nil, nil, err
	}
	return kek, pg, nil
}
