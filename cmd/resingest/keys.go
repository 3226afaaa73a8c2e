package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

func init() { addCommand(newKeysCmd) }

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the keys that encrypt guests' personal data",
		Long: `keys manages the envelope encryption of guest PII (package pii).

Data keys (AES-256) are stored in Postgres (table pii_keys) wrapped by a
key-encryption key: an AWS KMS key (--kms-key-id) in production or a local
key file (--kek-file, mode 0600) in development. Every command that writes
or reads guest data takes the same --kek-file / --kms-key-id.

  resingest keys init --kek-file .dev/kek.json   # first data key + index key
  resingest keys rotate --kek-file .dev/kek.json # new version for new writes
  resingest keys reencrypt --kek-file ...        # rewrite older versions
  resingest keys status --kek-file ...`,
	}
	cmd.AddCommand(newKeysInitCmd(), newKeysRotateCmd(), newKeysStatusCmd(), newKeysReencryptCmd())
	return cmd
}

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

func newKeysInitCmd() *cobra.Command {
	var f keyStoreFlags
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the first data key and the blind-index key (and the local key file when missing)",
		Long: `init creates the first data-key version (v1) and the blind-index key,
wrapped by the key-encryption key. With --kek-file, a missing file is
created with mode 0600; an existing one is used as is. Run 'db migrate'
first. init refuses to run twice: use 'keys rotate' for a new version.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			ctx := cmd.Context()
			if f.keys.kekFile != "" {
				if _, err := os.Stat(f.keys.kekFile); errors.Is(err, fs.ErrNotExist) {
					if _, err := pii.CreateLocalKEK(f.keys.kekFile); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "created key file %s (mode 0600)\n", f.keys.kekFile)
				}
			}
			kek, err := f.keys.kek(ctx)
			if err != nil {
				return err
			}
			pg, err := f.open(ctx)
			if err != nil {
				return err
			}
			defer pg.Close()
			if err := pii.Init(ctx, pg, kek); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "keys initialised: data key v1 (current) and the blind-index key, wrapped by %s\n", kek.ID())
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func newKeysRotateCmd() *cobra.Command {
	var f keyStoreFlags
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Start a new data-key version for new writes (older versions still decrypt)",
		Long: `rotate adds the next data-key version and makes it current. Workers pick
it up when they next load keys (on start, or when they meet a value
sealed under a version they do not hold); values sealed under older
versions keep decrypting. Run 'keys reencrypt' to rewrite them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			kek, pg, err := f.openChecked(ctx) // the KEK must open what is there
			if err != nil {
				return err
			}
			defer pg.Close()
			v, err := pii.Rotate(ctx, pg, kek)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "data key %s is current\n", v)
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func newKeysStatusCmd() *cobra.Command {
	var f keyStoreFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "List the key versions and check that the key-encryption key opens them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			_, pg, err := f.openChecked(ctx)
			if err != nil {
				return err
			}
			defer pg.Close()
			keys, err := pg.Keys(ctx)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%-8s %-6s %-8s %-25s %s\n", "VERSION", "KIND", "CURRENT", "CREATED", "WRAPPED BY")
			for _, k := range keys {
				cur := ""
				if k.Current {
					cur = "yes"
				}
				fmt.Fprintf(w, "%-8s %-6s %-8s %-25s %s\n", k.Version, k.Purpose, cur, k.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), k.KEKID)
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

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
