package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/pii"
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
