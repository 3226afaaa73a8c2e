package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

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
