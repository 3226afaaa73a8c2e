package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/sinks/postgres"
)

func init() { addCommand(newDLQCmd) }

// dlqListPage is how many letters 'dlq list' reads per query.
const dlqListPage = 500

// dlqReasonWidth is where 'dlq list' cuts a reason in its table (--json
// and 'dlq show' print it whole).
const dlqReasonWidth = 100

func newDLQCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Inspect and replay dead letters (messages the pipeline gave up on)",
		Long: `dlq works on the dead_letters table in Postgres: the poison messages of every
worker, redacted (card numbers keep their last four digits), with where they
came from and why they failed.

After fixing what made them fail (typically a mapping), 'dlq replay' runs the
pending letters through the parser and the stores again: those that now
succeed are marked replayed, the others stay pending.`,
		Example: `  eval "$(scripts/dev-services env)"
  resingest dlq list --pending
  resingest dlq show 42
  resingest dlq replay --mapping ./vendor-x.yaml --dry-run
  resingest dlq replay --mapping ./vendor-x.yaml --source kafka --limit 1000`,
	}
	cmd.AddCommand(newDLQListCmd(), newDLQShowCmd(), newDLQReplayCmd())
	return cmd
}

// commandLineOnly undoes what applyEnv set from the environment for flags
// that select what a command acts on: RESINGEST_SOURCE is meant for
// consume's --source, and no variable should silently narrow or widen
// what an operator lists or replays. applyEnv sets values without marking
// flags Changed, which is how they are told apart.
func commandLineOnly(cmd *cobra.Command, names ...string) error {
	for _, name := range names {
		f := cmd.Flags().Lookup(name)
		if f == nil || f.Changed {
			continue
		}
		if err := f.Value.Set(f.DefValue); err != nil {
			return fmt.Errorf("--%s: %w", name, err)
		}
	}
	return nil
}

// openLedger connects to the Postgres that holds the dead letters.
func openLedger(ctx context.Context, url string) (*postgres.Sink, error) {
	if url == "" {
		return nil, errNoPGURL
	}
	return postgres.New(ctx, url, postgres.Options{MaxConns: 2})
}

// findLetter returns dead letter id, or an error wrapping
// pipeline.ErrLetterNotFound.
func findLetter(ctx context.Context, pg *postgres.Sink, id int64) (postgres.DeadLetter, error) {
	page, err := pg.ListDeadLetters(ctx, postgres.DeadLetterFilter{AfterID: id - 1, Limit: 1})
	if err != nil {
		return postgres.DeadLetter{}, err
	}
	if len(page) == 0 || page[0].ID != id {
		return postgres.DeadLetter{}, fmt.Errorf("%w: id %d", pipeline.ErrLetterNotFound, id)
	}
	return page[0], nil
}

// dlqLetterJSON is a dead letter as 'dlq list --json' and 'dlq show --json'
// print it; times are RFC 3339 UTC, "" when absent (replayed_at of a
// pending letter).
type dlqLetterJSON struct {
	ID         int64  `json:"id"`
	Source     string `json:"source"`
	Partition  string `json:"partition"`
	Position   string `json:"position"`
	MessageID  string `json:"message_id"`
	Reason     string `json:"reason"`
	ReceivedAt string `json:"received_at"`
	CreatedAt  string `json:"created_at"`
	ReplayedAt string `json:"replayed_at"`
	// MessageBytes is the size of the whole message; Truncated says the
	// row keeps only its first bytes; ArchiveKey is where the whole
	// redacted message is in the archive bucket ("" when nowhere).
	MessageBytes int64  `json:"message_bytes"`
	Truncated    bool   `json:"truncated"`
	ArchiveKey   string `json:"archive_key"`
}

func letterJSON(d *postgres.DeadLetter) dlqLetterJSON {
	return dlqLetterJSON{
		ID: d.ID, Source: d.Source, Partition: d.Partition, Position: d.Position, MessageID: d.MessageID,
		Reason: d.Reason, ReceivedAt: dlqTime(d.ReceivedAt), CreatedAt: dlqTime(d.CreatedAt), ReplayedAt: dlqTime(d.ReplayedAt),
		MessageBytes: d.MessageBytes, Truncated: d.Truncated, ArchiveKey: d.ArchiveKey,
	}
}

func dlqTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// oneLine makes a reason fit a table cell.
func oneLine(s string, width int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > width {
		return string(r[:width-1]) + "…"
	}
	return s
}

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

type dlqReplayFlags struct {
	id        int64
	source    string
	limit     int
	batchSize int
	dryRun    bool
	mapping   string
	maxBytes  int
	stores    storeFlags
}

func (f *dlqReplayFlags) validate() error {
	switch {
	case f.id < 0:
		return fmt.Errorf("--id %d: must be a dead-letter id (see 'dlq list')", f.id)
	case f.limit < 0:
		return fmt.Errorf("--limit %d: must be >= 0 (0: all)", f.limit)
	case f.id != 0 && (f.limit != 0 || f.source != ""):
		return errors.New("--id selects one letter: --limit and --source do not apply")
	case f.batchSize <= 0:
		return fmt.Errorf("--batch-size %d: must be positive", f.batchSize)
	}
	return f.stores.validate()
}

func newDLQReplayCmd() *cobra.Command {
	var f dlqReplayFlags
	cmd := &cobra.Command{
		Use:   "replay [--id N | --source S --limit N] [--dry-run] [--mapping NAME|FILE] [store flags]",
		Short: "Run pending dead letters through the parser and the stores again",
		Long: `replay runs pending dead letters (oldest first; all of them, those of one
--source, the first --limit, or just --id N) through the parser and every
configured store, in batches, exactly as 'consume' would, with the same store
flags. Use it after fixing what made them fail, usually with --mapping
pointing at the fixed mapping file.

A letter whose message is now stored (or found stale or duplicate by the
version guard) is marked replayed and gets one audit row with source "dlq",
partition "dead_letters" and the letter id as position. A letter that still
fails stays pending, unchanged: no second dead letter and no audit row are
written for it, so it can be replayed again later.

--dry-run only parses the letters and says which would be replayed and which
would still fail, writing nothing. It does not ask the stores, so a letter
that parses but that a store would refuse counts as would-be-replayed.

Prints a summary and the letters still failing with their current reason;
the exit status is 1 when any letter fails (or would fail) again.
--id, --source, --limit and --dry-run are read from the command line only,
never from RESINGEST_* variables.`,
		Example: `  eval "$(scripts/dev-services env)"
  resingest dlq replay --mapping ./vendor-x.yaml --dry-run
  resingest dlq replay --mapping ./vendor-x.yaml --source kafka --limit 1000
  resingest dlq replay --id 42 --sinks postgres`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := commandLineOnly(cmd, "id", "source", "limit", "dry-run"); err != nil {
				return err
			}
			if err := f.validate(); err != nil {
				return fmt.Errorf("dlq replay: %w", err)
			}
			return runDLQReplay(cmd.Context(), &f, cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&f.id, "id", 0, "replay this letter only")
	fl.StringVar(&f.source, "source", "", "only letters from this source (kafka, file, ...)")
	fl.IntVar(&f.limit, "limit", 0, "replay at most this many letters, oldest first (0: all)")
	fl.IntVar(&f.batchSize, "batch-size", 100, "letters per batch")
	fl.BoolVar(&f.dryRun, "dry-run", false, "parse only and say what would happen; write nothing")
	fl.StringVar(&f.mapping, "mapping", parse.AutoMapping, "parser mapping: auto, a built-in name, or a YAML file")
	fl.IntVar(&f.maxBytes, "max-bytes", parse.DefaultMaxBytes, "largest message accepted, in bytes")
	f.stores.register(cmd)
	return cmd
}

func runDLQReplay(ctx context.Context, f *dlqReplayFlags, stdout io.Writer) error {
	log := slog.Default()
	parser, err := parse.New(parse.Options{Mapping: f.mapping, Limits: parse.Limits{MaxBytes: f.maxBytes}})
	if err != nil {
		return fmt.Errorf("dlq replay: %w", err)
	}
	st, err := f.stores.open(ctx, log)
	if err != nil {
		return fmt.Errorf("dlq replay: %w", err)
	}
	defer st.Close()
	proc, err := pipeline.NewProcessor(st.processorConfig(parser, nil, log))
	if err != nil {
		return fmt.Errorf("dlq replay: %w", err)
	}
	rep, err := pipeline.Replay(ctx, st.pg, proc, pipeline.ReplayOptions{
		ID: f.id, Source: f.source, Limit: f.limit, BatchSize: f.batchSize, DryRun: f.dryRun, Logger: log,
	})
	if rep.Letters > 0 || err == nil {
		printReplayReport(stdout, &rep)
	}
	if err != nil {
		return err // "replay: ..." says enough
	}
	if rep.StillFailing > 0 {
		return exitError{code: 1}
	}
	return nil
}

func printReplayReport(w io.Writer, rep *pipeline.ReplayReport) {
	if rep.Letters == 0 {
		fmt.Fprintln(w, "dlq replay: no pending dead letters match")
		return
	}
	if rep.DryRun {
		fmt.Fprintf(w, "dlq replay (dry run, nothing written): %d dead letters: %d would be replayed (reservations: %d), %d would still fail\n",
			rep.Letters, rep.Replayed, rep.Reservations, rep.StillFailing)
	} else {
		var parts []string
		for _, o := range []pipeline.Outcome{pipeline.OutcomeStored, pipeline.OutcomeDuplicate, pipeline.OutcomeStale} {
			if n := rep.Outcomes[o]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", o, n))
			}
		}
		detail := ""
		if len(parts) > 0 {
			detail = " (" + strings.Join(parts, ", ") + ")"
		}
		fmt.Fprintf(w, "dlq replay: %d dead letters: %d replayed%s, %d still failing and left pending\n",
			rep.Letters, rep.Replayed, detail, rep.StillFailing)
	}
	if rep.StillFailing == 0 {
		return
	}
	fmt.Fprintln(w, "still failing:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, fl := range rep.Failures {
		fmt.Fprintf(tw, "  %d\t%s\t%s@%s\t%s\n", fl.ID, fl.Source, fl.Partition, fl.Position, oneLine(fl.Reason, 200))
	}
	_ = tw.Flush()
	if more := rep.StillFailing - len(rep.Failures); more > 0 {
		fmt.Fprintf(w, "  ... and %d more (dlq list --pending)\n", more)
	}
}
