package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/migrate"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/parse/coverage"
	"github.com/resingest/resingest/pipeline/peek"
	"github.com/resingest/resingest/sinks/archive"
)

func init() { addCommand(newMappingCmd) }

// Exit statuses of 'mapping check' (and of 'consume --dry-run').
const (
	exitChecked   = 0 // every message gave records (stored, or held for key resolution)
	exitRejected  = 1 // some messages were rejected
	exitCannotRun = 2 // bad flags or mapping, unreadable source: nothing was checked
)

func newMappingCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mapping",
		Short: "Work with parser mappings: try one against a vendor's messages",
		Long: `mapping groups the commands that help onboard a new vendor: see what a
mapping (a built-in one or a YAML file) extracts from a sample of the vendor's
messages before any of them reaches a store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newMappingCheckCmd())
	return cmd
}

type mappingCheckFlags struct {
	opts       parse.Options
	s3Endpoint string
}

func newMappingCheckCmd() *cobra.Command {
	var f mappingCheckFlags
	cmd := &cobra.Command{
		Use:   "check [--mapping M] DIR|FILE|s3://bucket/prefix ...",
		Short: "Print what a mapping extracts from a folder or S3 prefix of messages: coverage per message type and field",
		Long: `check parses every message of the folders (*.xml), files or S3 prefixes given
(*.xml objects, and archive objects *.jsonl.gz as the archive sink writes them)
with the mapping and prints:

  - the totals: messages, records, rejected messages, and records that would
    be held for key resolution because they carry no hotel code;
  - per message type, the actions and, for every record field, how many
    records give a value;
  - the rejected messages by reason (error class), with up to three example
    names each.

Nothing is stored or changed anywhere; no message content is printed.

Exit status: 0 every message gave records (stored or held for key
resolution); 1 some messages were rejected; 2 nothing was checked (bad
flags, a mapping that does not load, a source that cannot be read).`,
		Example: `  resingest mapping check parse/testdata/public
  resingest mapping check --mapping ./vendor.yaml /data/vendor-sample/
  resingest mapping check --s3-endpoint http://127.0.0.1:4569 s3://archive/2026/05/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMappingCheck(cmd.Context(), f, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.opts.Mapping, "mapping", parse.AutoMapping, "mapping: auto, a built-in name ("+strings.Join(parse.BuiltinMappings(), ", ")+"), or a YAML file")
	fl.StringVar(&f.opts.Engine, "engine", parse.EngineFast, "extraction engine: "+strings.Join(parse.Engines(), " or ")+" (same output)")
	fl.IntVar(&f.opts.Limits.MaxBytes, "max-bytes", parse.DefaultMaxBytes, "largest message accepted, in bytes")
	fl.StringVar(&f.s3Endpoint, "s3-endpoint", "", "S3 endpoint URL for s3:// sources; empty: AWS's (env RESINGEST_S3_ENDPOINT)")
	return cmd
}

// cannotRun reports err and ends with exitCannotRun.
func cannotRun(stderr io.Writer, err error) error {
	fmt.Fprintln(stderr, "resingest:", err)
	return exitError{code: exitCannotRun}
}

func runMappingCheck(ctx context.Context, f mappingCheckFlags, args []string, stdout, stderr io.Writer) error {
	p, err := parse.New(f.opts)
	if err != nil {
		return cannotRun(stderr, err)
	}
	maxBytes := f.opts.Limits.MaxBytes
	if maxBytes <= 0 {
		maxBytes = parse.DefaultMaxBytes
	}
	report := coverage.New()
	check := func(name string, msg []byte) { report.Check(p, name, msg) }
	for _, src := range args {
		if err := readSource(ctx, src, f.s3Endpoint, maxBytes, check); err != nil {
			return cannotRun(stderr, err)
		}
	}
	fmt.Fprintf(stdout, "mapping %s\n", mappingNames(p))
	if err := report.Write(stdout); err != nil {
		return err
	}
	return reportStatus(report)
}

// reportStatus is the exit status a finished report gives.
func reportStatus(r *coverage.Report) error {
	if r.Totals().Rejected > 0 {
		return exitError{code: exitRejected}
	}
	return nil
}

// mappingNames names the mappings a parser uses ("auto: ota2003, ota2001").
func mappingNames(p *parse.Parser) string {
	var names []string
	for _, m := range p.Mappings() {
		names = append(names, m.Name)
	}
	if len(names) > 1 {
		return "auto (" + strings.Join(names, ", ") + ")"
	}
	return strings.Join(names, ", ")
}

// readSource hands every message of a folder, file or S3 prefix to fn.
func readSource(ctx context.Context, src, s3Endpoint string, maxBytes int, fn peek.Handler) error {
	if migrate.IsS3URL(src) {
		u, err := migrate.ParseS3URL(src)
		if err != nil {
			return err
		}
		client, err := archive.NewClient(ctx, s3Endpoint)
		if err != nil {
			return err
		}
		return peek.S3(ctx, client, u.Bucket, u.Prefix, maxBytes, nil, fn)
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return peek.Files(ctx, src, maxBytes, fn)
	}
	msg, err := readFileLimited(src, maxBytes)
	if err != nil {
		return err
	}
	fn(filepath.Base(src), msg)
	return nil
}

func readFileLimited(name string, maxBytes int) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	msg, err := io.ReadAll(io.LimitReader(f, int64(maxBytes)+1))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%s: read failed", name), err)
	}
	return msg, nil
}
