package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
)

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
