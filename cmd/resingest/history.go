package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

func init() { addCommand(newHistoryCmd) }

// historyFlags configure 'resingest history'.
type historyFlags struct {
	pgURL          string
	dynamoEndpoint string
	dynamoTable    string
	limit          int
	format         string
}

func newHistoryCmd() *cobra.Command {
	var f historyFlags
	cmd := &cobra.Command{
		Use:   "history HOTEL_CODE CONFIRMATION",
		Short: "Print a reservation's story: every message that touched it, and the version each store holds",
		Long: `history answers "what happened to this reservation?": every message that
named it, oldest first (received time, source and position, message id and
type, the parser mapping that read it, action, version, outcome — stored,
stale, duplicate, resolved, held — latency, and where the archive keeps
the raw message), then the version
Postgres holds and, with --dynamo-table, the version DynamoDB holds, marked
when they disagree. Records still held for key resolution under the
confirmation (no hotel code yet) are listed too.

The story comes from the audit trail's lineage (table audit_records,
migration 0013): messages audited before it are not listed. Guests'
personal data is never printed.`,
		Example: `  resingest history H00042 RES-1001
  resingest history H00042 RES-1001 --dynamo-table reservations --format json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.pgURL == "" {
				f.pgURL = strings.TrimSpace(os.Getenv(envPGURL))
			}
			switch {
			case f.pgURL == "":
				return errNoPGURL
			case f.limit <= 0:
				return fmt.Errorf("--limit %d: must be positive", f.limit)
			case f.format != "text" && f.format != "json":
				return fmt.Errorf("--format %q: must be text or json", f.format)
			}
			k := reservation.Key{HotelCode: args[0], Confirmation: args[1]}
			if err := checkKeyArg(k); err != nil {
				return err
			}
			return runHistory(cmd.Context(), f, k, cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.pgURL, "pg-url", "", "Postgres URL (default $"+envPGURL+")")
	fl.StringVar(&f.dynamoTable, "dynamo-table", "", "DynamoDB table to compare the stored version with; empty: Postgres only")
	fl.StringVar(&f.dynamoEndpoint, "dynamo-endpoint", "", "DynamoDB endpoint URL; empty: AWS's (env RESINGEST_DYNAMO_ENDPOINT)")
	fl.IntVar(&f.limit, "limit", 1000, "most messages listed")
	fl.StringVar(&f.format, "format", "text", "output: text (a table) or json")
	return cmd
}

// checkKeyArg refuses a key no store could hold, naming the argument but
// not echoing it.
func checkKeyArg(k reservation.Key) error {
	for _, a := range []struct{ name, v string }{{"HOTEL_CODE", k.HotelCode}, {"CONFIRMATION", k.Confirmation}} {
		bad := strings.TrimSpace(a.v) == "" || len(a.v) > 256 || !utf8.ValidString(a.v) ||
			strings.ContainsFunc(a.v, unicode.IsControl)
		if bad {
			return fmt.Errorf("%s: must be 1 to 256 bytes of UTF-8 without control characters", a.name)
		}
	}
	return nil
}

// storedVersion is what one store holds of the reservation.
type storedVersion struct {
	Store   string `json:"store"`
	Found   bool   `json:"found"`
	Version string `json:"version,omitempty"`
	Action  string `json:"action,omitempty"`
	Status  string `json:"status,omitempty"`
}

// historyReport is history's output.
type historyReport struct {
	HotelCode    string                  `json:"hotel_code"`
	Confirmation string                  `json:"confirmation"`
	Timeline     []postgres.HistoryEntry `json:"timeline"`
	Stores       []storedVersion         `json:"stores"`
	Disagree     bool                    `json:"stores_disagree"`
}

func runHistory(ctx context.Context, f historyFlags, k reservation.Key, out io.Writer) error {
	pg, err := postgres.New(ctx, f.pgURL, postgres.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer pg.Close()
	rep := historyReport{HotelCode: k.HotelCode, Confirmation: k.Confirmation}
	if rep.Timeline, err = pg.History(ctx, k, f.limit); err != nil {
		return err
	}
	sv, err := storedIn("postgres", func() (reservation.Reservation, string, error) { return pg.Get(ctx, k) },
		postgres.ErrNotFound)
	if err != nil {
		return err
	}
	rep.Stores = append(rep.Stores, sv)
	if f.dynamoTable != "" {
		client, err := dynamo.NewClient(ctx, f.dynamoEndpoint)
		if err != nil {
			return err
		}
		d := dynamo.New(client, dynamo.Options{Table: f.dynamoTable})
		defer d.Close()
		sv, err := storedIn("dynamodb", func() (reservation.Reservation, string, error) { return d.Get(ctx, k) },
			dynamo.ErrNotFound)
		if err != nil {
			return err
		}
		rep.Stores = append(rep.Stores, sv)
		rep.Disagree = rep.Stores[0].Found != sv.Found || rep.Stores[0].Version != sv.Version
	}
	if f.format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.writeText(out)
}

// storedIn reads what one store holds; notFound is its "no such key".
func storedIn(store string, get func() (reservation.Reservation, string, error), notFound error) (storedVersion, error) {
	r, version, err := get()
	switch {
	case errors.Is(err, notFound):
		return storedVersion{Store: store}, nil
	case err != nil:
		return storedVersion{}, fmt.Errorf("%s: %w", store, err)
	}
	return storedVersion{Store: store, Found: true, Version: version, Action: r.Action, Status: r.Status}, nil
}

func (r *historyReport) writeText(out io.Writer) error {
	fmt.Fprintf(out, "reservation %s / %s: %d message(s)\n\n", r.HotelCode, r.Confirmation, len(r.Timeline))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RECEIVED\tSOURCE\tPARTITION\tPOSITION\tMESSAGE ID\tTYPE\tMAPPING\tACTION\tVERSION\tOUTCOME\tLATENCY\tARCHIVE")
	for _, e := range r.Timeline {
		outcome := e.Outcome
		if e.HotelCode == "" {
			outcome += " (no hotel code yet)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ReceivedAt.Format(time.RFC3339Nano),
			e.Source, e.Partition, e.Position, dash(e.MessageID), dash(e.MessageType), dash(e.Mapping), dash(e.Action),
			e.Version, outcome, e.Latency.Round(time.Millisecond), dash(e.ArchiveKey))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	for _, s := range r.Stores {
		if !s.Found {
			fmt.Fprintf(out, "%-9s not stored\n", s.Store+":")
			continue
		}
		fmt.Fprintf(out, "%-9s version %s (%s, status %s)\n", s.Store+":", s.Version, s.Action, dash(s.Status))
	}
	if r.Disagree {
		fmt.Fprintln(out, "!! the stores disagree: DynamoDB should follow Postgres; run 'resingest migrate verify' or replay the newest message")
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
