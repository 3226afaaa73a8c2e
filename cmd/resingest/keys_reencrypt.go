package main

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

func newKeysReencryptCmd() *cobra.Command {
	var f storeFlags
	var batch int
	cmd := &cobra.Command{
		Use:   "reencrypt",
		Short: "Rewrite guest data sealed under older key versions (resumable)",
		Long: `reencrypt re-seals, under the current data-key version, every guest value
sealed under an older version or stored plain (written before encryption
was enabled), in Postgres and DynamoDB (--sinks), in batches. Its position
is saved after each batch (table pii_jobs): stopped and started again, it
continues where it stopped. Reads work throughout (every version still
decrypts), and live writes are never overwritten: a row or item changed
since it was read is left alone (it is already sealed under the current
version).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if !f.keys.enabled() {
				return errors.New("no key-encryption key: set --kek-file or --kms-key-id")
			}
			return runGuestJobs(cmd, &f, batch, "reencrypt", func(kr *pii.Keyring) (pii.GuestRewrite, dynamo.GuestJob, string) {
				cur := kr.CurrentVersion()
				return kr.Reencrypt, dynamo.ReencryptJob(cur, kr.Reencrypt), "reencrypt-postgres:" + cur
			})
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&batch, "batch-size", 1000, "rows per Postgres transaction")
	return cmd
}

// runGuestJobs runs a guest-data job over the selected stores, logging
// progress.
func runGuestJobs(cmd *cobra.Command, f *storeFlags, batch int, what string,
	jobs func(kr *pii.Keyring) (pgRewrite pii.GuestRewrite, dyn dynamo.GuestJob, pgJob string)) error {
	ctx := cmd.Context()
	log := slog.Default()
	pg, err := postgres.New(ctx, f.pgURL, postgres.Options{MaxConns: 4})
	if err != nil {
		return err
	}
	defer pg.Close()
	var kr *pii.Keyring
	if f.keys.enabled() {
		if kr, err = f.keys.keyring(ctx, pg, log); err != nil {
			return err
		}
	}
	pgRewrite, dynJob, pgJob := jobs(kr)
	report := func(store string) func(pii.RewriteStats) {
		return func(st pii.RewriteStats) {
			log.Info(what+" progress", "store", store, "scanned", st.Scanned, "rewritten", st.Rewritten, "skipped", st.Skipped)
		}
	}
	out := cmd.OutOrStdout()
	if slices.Contains(f.sinks, "postgres") {
		st, err := pg.RewriteGuests(ctx, pgJob, batch, pgRewrite, report("postgres"))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s postgres: %d guest rows scanned, %d rewritten, %d left to newer writes\n", what, st.Scanned, st.Rewritten, st.Skipped)
	}
	if slices.Contains(f.sinks, "dynamo") {
		client, err := dynamo.NewClient(ctx, f.dynamoEndpoint)
		if err != nil {
			return err
		}
		st, err := dynamo.RunGuestJob(ctx, client, f.dynamoTable, pg, dynJob, report("dynamo"))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s dynamo: %d items scanned, %d rewritten, %d left to newer writes\n", what, st.Scanned, st.Rewritten, st.Skipped)
	}
	return nil
}
