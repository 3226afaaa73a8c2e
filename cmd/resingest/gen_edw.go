package main

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/bench/corpus"
)

func init() { addGenCommand(newGenEDWCmd) }

func newGenEDWCmd() *cobra.Command {
	var (
		o   corpus.EDWOptions
		out string
	)
	cmd := &cobra.Command{
		Use:   "edw",
		Short: "Generate a deterministic EDW reservation extract (CSV) for 'resingest migrate'",
		Long: `edw writes --rows reservation rows spread over --files CSV files
(edw-0001.csv, ... or .csv.gz with --gzip) into --out, with the columns
'resingest migrate' reads. Hotel codes and confirmation numbers follow the
message corpus (H00042, 10-digit confirmations); about 10% of the rows are
later revisions (modified or cancelled) of an earlier reservation, with a
later modified_at; about 30% carry 1-2 special requests (a JSON array in
the special_requests column). The same --seed gives byte-identical files. Example:

  resingest gen edw --rows 200000 --files 4 --out /tmp/edw`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Rows < 0 || o.Files <= 0 {
				return errors.New("gen edw: --rows must not be negative and --files must be positive")
			}
			start := time.Now()
			paths, err := corpus.WriteEDW(cmd.Context(), out, o)
			if err != nil {
				return fmt.Errorf("gen edw: %w", err)
			}
			slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)).Info("extract written",
				"dir", out, "files", len(paths), "rows", o.Rows,
				"seconds", fmt.Sprintf("%.2f", time.Since(start).Seconds()))
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Rows, "rows", 10000, "data rows over all files")
	f.IntVar(&o.Files, "files", 1, "number of files")
	f.Uint64Var(&o.Seed, "seed", 1, "extract seed (same seed, same files)")
	f.IntVar(&o.Hotels, "hotels", corpus.DefaultHotels, "number of hotels the rows spread over")
	f.BoolVar(&o.Gzip, "gzip", false, "write gzip-compressed .csv.gz files")
	f.StringVar(&out, "out", "", "output directory (created if missing)")
	_ = cmd.MarkFlagRequired("out") // cannot fail: the flag is defined above
	return cmd
}
