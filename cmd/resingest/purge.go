package main

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

func init() { addCommand(newPurgeCmd) }

func newPurgeCmd() *cobra.Command {
	var f storeFlags
	var before string
	var batch int
	cmd := &cobra.Command{
		Use:   "purge --departed-before YYYY-MM-DD",
		Short: "Anonymise guest PII of stays that departed before a date (retention; resumable)",
		Long: `purge empties every personal field of the guests (names, e-mail, phone,
loyalty number, address) of reservations whose departure is before
--departed-before, in Postgres and DynamoDB (--sinks), and drops their
blind indexes, keeping every non-personal column (dates, hotel, status,
rooms, amounts) for reporting. Purged reservations are marked
(pii_purged_at), so a stopped purge run again continues with what is left
and a finished one finds nothing more to do.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if _, err := time.Parse(time.DateOnly, before); err != nil {
				return fmt.Errorf("--departed-before: %q is not a date (YYYY-MM-DD)", before)
			}
			ctx := cmd.Context()
			log := slog.Default()
			out := cmd.OutOrStdout()
			pg, err := postgres.New(ctx, f.pgURL, postgres.Options{MaxConns: 4})
			if err != nil {
				return err
			}
			defer pg.Close()
			if slices.Contains(f.sinks, "postgres") {
				n, err := pg.PurgeGuests(ctx, before, batch, func(total int) {
					log.Info("purge progress", "store", "postgres", "reservations", total)
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "purge postgres: %d reservations anonymised\n", n)
			}
			if slices.Contains(f.sinks, "dynamo") {
				client, err := dynamo.NewClient(ctx, f.dynamoEndpoint)
				if err != nil {
					return err
				}
				st, err := dynamo.RunGuestJob(ctx, client, f.dynamoTable, pg, dynamo.PurgeJob(before), func(st pii.RewriteStats) {
					log.Info("purge progress", "store", "dynamo", "scanned", st.Scanned, "anonymised", st.Rewritten)
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "purge dynamo: %d items anonymised (%d scanned, %d left to newer writes)\n", st.Rewritten, st.Scanned, st.Skipped)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&before, "departed-before", "", "anonymise stays whose departure is before this date (YYYY-MM-DD; required)")
	cmd.Flags().IntVar(&batch, "batch-size", 1000, "reservations per Postgres transaction")
	_ = cmd.MarkFlagRequired("departed-before")
	return cmd
}
