package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/sinks/postgres"
)

type dlqListFlags struct {
	pgURL   string
	source  string
	pending bool
	limit   int
	json    bool
}

func newDLQListCmd() *cobra.Command {
	var f dlqListFlags
	cmd := &cobra.Command{
		Use:   "list [--source S] [--pending] [--limit N] [--json]",
		Short: "List dead letters, oldest first, without their messages",
		Long: `list prints one dead letter per line, oldest first: id, source, partition,
position, received_at, replayed_at ("-" while pending) and reason (cut at
100 characters). Message content is never printed: see 'dlq show ID'.

--json prints one JSON object per letter instead (JSON Lines), with the whole
reason and the message id. --source, --pending and --limit are read from the
command line only, never from RESINGEST_* variables.`,
		Example: `  resingest dlq list --pending
  resingest dlq list --source kafka --limit 0 --json | jq -r .reason | sort | uniq -c`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := commandLineOnly(cmd, "source", "pending", "limit", "json"); err != nil {
				return err
			}
			if f.limit < 0 {
				return fmt.Errorf("dlq list: --limit %d: must be >= 0 (0: all)", f.limit)
			}
			return runDLQList(cmd.Context(), &f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.pgURL, "pg-url", "", "Postgres URL (env RESINGEST_PG_URL)")
	fl.StringVar(&f.source, "source", "", "only letters from this source (kafka, file, ...)")
	fl.BoolVar(&f.pending, "pending", false, "only letters not replayed yet")
	fl.IntVar(&f.limit, "limit", 100, "print at most this many letters (0: all)")
	fl.BoolVar(&f.json, "json", false, "print JSON Lines instead of a table")
	return cmd
}

func runDLQList(ctx context.Context, f *dlqListFlags, stdout, stderr io.Writer) error {
	pg, err := openLedger(ctx, f.pgURL)
	if err != nil {
		return fmt.Errorf("dlq list: %w", err)
	}
	defer pg.Close()
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	if !f.json {
		fmt.Fprintln(tw, "ID\tSOURCE\tPARTITION\tPOSITION\tRECEIVED_AT\tREPLAYED_AT\tREASON")
	}
	var after int64
	printed := 0
	for f.limit == 0 || printed < f.limit {
		n := dlqListPage
		if f.limit > 0 {
			n = min(n, f.limit-printed)
		}
		page, err := pg.ListDeadLetters(ctx, postgres.DeadLetterFilter{
			Source: f.source, PendingOnly: f.pending, AfterID: after, Limit: n,
		})
		if err != nil {
			return fmt.Errorf("dlq list: %w", err)
		}
		for i := range page {
			d := letterJSON(&page[i])
			if f.json {
				if err := enc.Encode(d); err != nil {
					return err
				}
				continue
			}
			replayed := d.ReplayedAt
			if replayed == "" {
				replayed = "-"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Source, d.Partition, d.Position,
				d.ReceivedAt, replayed, oneLine(d.Reason, dlqReasonWidth))
		}
		printed += len(page)
		if len(page) < n {
			break
		}
		after = page[len(page)-1].ID
	}
	if printed == 0 {
		fmt.Fprintln(stderr, "dlq list: no dead letters match")
	}
	if f.json {
		return nil
	}
	return tw.Flush()
}
