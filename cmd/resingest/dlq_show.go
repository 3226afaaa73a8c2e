package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/sinks/postgres"
)

func newDLQShowCmd() *cobra.Command {
	var pgURL string
	var asJSON bool
	var keys keyFlags
	var arch dlqArchiveFlags
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Print one dead letter, including its redacted message",
		Long: `show prints everything about one dead letter, including its message as stored:
redacted (card numbers keep their last four digits, CVVs and passwords are
masked) but still holding guests' names and contacts. Handle the output as
personal data.

A dead letter keeps at most the first 64 KiB of its message in Postgres
("truncated"); the whole redacted message of a larger one is in the archive
(archive_key), which show reads with --archive-bucket. A message refused as
too large (over --max-bytes) was never held whole: only its prefix exists.`,
		Example: `  resingest dlq show 42
  resingest dlq show 42 --archive-bucket resingest-archive
  resingest dlq show 42 --json | jq -r .message > letter-42.xml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return fmt.Errorf("dlq show: %q is not a dead-letter id (a positive number, see 'dlq list')", args[0])
			}
			if err := commandLineOnly(cmd, "json"); err != nil {
				return err
			}
			pg, err := openLedger(cmd.Context(), pgURL)
			if err != nil {
				return fmt.Errorf("dlq show: %w", err)
			}
			defer pg.Close()
			d, err := findLetter(cmd.Context(), pg, id)
			if err != nil {
				return fmt.Errorf("dlq show: %w", err)
			}
			var kr *pii.Keyring
			if keys.enabled() {
				if kr, err = keys.keyring(cmd.Context(), pg, slog.Default()); err != nil {
					return fmt.Errorf("dlq show: %w", err)
				}
			}
			if pii.IsSealedBlob(d.Message) {
				if kr == nil {
					return fmt.Errorf("dlq show: letter %d is encrypted: set --kek-file or --kms-key-id", id)
				}
				if d.Message, err = kr.OpenBlob(cmd.Context(), pipeline.DeadLetterPurpose, d.Message); err != nil {
					return fmt.Errorf("dlq show: letter %d: %w", id, err)
				}
			}
			note, err := arch.wholeLetter(cmd.Context(), &d, kr) // dlq_archive.go
			if err != nil {
				return fmt.Errorf("dlq show: %w", err)
			}
			if note != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "dlq show: letter", id, note)
			}
			return printLetter(cmd.OutOrStdout(), &d, asJSON)
		},
	}
	cmd.Flags().StringVar(&pgURL, "pg-url", "", "Postgres URL (env RESINGEST_PG_URL)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object, the message as a string")
	cmd.Flags().StringVar(&arch.bucket, "archive-bucket", "", "archive bucket holding the whole message of truncated letters")
	cmd.Flags().StringVar(&arch.s3Endpoint, "s3-endpoint", "", "S3 endpoint URL; empty: AWS's (env RESINGEST_S3_ENDPOINT)")
	keys.register(cmd)
	return cmd
}

func printLetter(w io.Writer, d *postgres.DeadLetter, asJSON bool) error {
	j := letterJSON(d)
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			dlqLetterJSON
			Message string `json:"message"`
		}{j, string(d.Message)})
	}
	replayed := j.ReplayedAt
	if replayed == "" {
		replayed = "- (pending)"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	for _, kv := range [][2]string{
		{"id", strconv.FormatInt(j.ID, 10)}, {"source", j.Source}, {"partition", j.Partition},
		{"position", j.Position}, {"message_id", j.MessageID}, {"received_at", j.ReceivedAt},
		{"created_at", j.CreatedAt}, {"replayed_at", replayed}, {"reason", j.Reason},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	what := fmt.Sprintf("redacted, %d bytes", len(d.Message))
	if d.Truncated && int64(len(d.Message)) < d.MessageBytes {
		what = fmt.Sprintf("redacted, TRUNCATED: first %d of %d bytes", len(d.Message), d.MessageBytes)
	}
	_, err := fmt.Fprintf(w, "message (%s):\n%s\n", what, strings.TrimRight(string(d.Message), "\n"))
	return err
}
