package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/resingest/resingest/bench/corpus"
)

func init() { addCommand(newGenCmd) }

// genSubcommands are later generation modes (e.g. an EDW export) that
// register themselves under 'gen' with addGenCommand from an init function.
var genSubcommands []func() *cobra.Command

// addGenCommand registers a 'gen' sub-mode constructor. Call it from init.
func addGenCommand(build func() *cobra.Command) {
	genSubcommands = append(genSubcommands, build)
}

// genProgressMin is the corpus size from which gen reports progress; smaller
// corpora finish before anyone would look.
const genProgressMin = 10_000

type genOptions struct {
	count  int
	seed   uint64
	out    string
	hotels int
	// kinesisStream, when set, receives the messages (PutRecords, keyed by
	// confirmation number) besides or instead of --out.
	kinesisStream   string
	kinesisEndpoint string
}

func newGenCmd() *cobra.Command {
	var o genOptions
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Generate a deterministic corpus of HTNG reservation messages",
		Long: `gen writes --count realistic HTNG messages into --out, one file each
(msg-000001.xml, ...): OTA 2003/05 OTA_HotelResNotifRQ / OTA_HotelResModifyNotifRQ
in a SOAP 1.2 envelope with a WS-Addressing MessageID. About 10% modify and 3%
cancel reservations confirmed earlier in the corpus; a few payment cards carry
full test card numbers and CVVs, to exercise redaction.

The same --seed and --hotels always give byte-identical files, so corpora can
be regenerated instead of stored.

With --kinesis-stream the same messages are put onto a Kinesis stream
(PutRecords, 500 per request, refused entries retried alone) with the
confirmation number as partition key, as 'resingest produce' keys Kafka
records. Examples:

  resingest gen --count 100000 --seed 7 --out /tmp/corpus
  resingest gen --count 1000 --kinesis-stream reservations`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGen(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.count, "count", 1000, "number of messages to write")
	f.Uint64Var(&o.seed, "seed", 1, "corpus seed (same seed, same files)")
	f.StringVar(&o.out, "out", "", "output directory (created if missing); required unless --kinesis-stream is set")
	f.IntVar(&o.hotels, "hotels", corpus.DefaultHotels, "number of hotels the messages spread over")
	f.StringVar(&o.kinesisStream, "kinesis-stream", "", "put the messages onto this Kinesis stream, keyed by confirmation number")
	f.StringVar(&o.kinesisEndpoint, "kinesis-endpoint", "", "Kinesis endpoint URL; empty: AWS's (env RESINGEST_KINESIS_ENDPOINT)")
	for _, build := range genSubcommands {
		cmd.AddCommand(build())
	}
	return cmd
}

func runGen(ctx context.Context, o genOptions, stderr io.Writer) error {
	if o.count < 0 {
		return errors.New("gen: --count must not be negative")
	}
	if o.hotels <= 0 {
		return errors.New("gen: --hotels must be positive")
	}
	if o.out == "" && o.kinesisStream == "" {
		return errors.New(`gen: required flag(s) "out" not set (or --kinesis-stream)`)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if o.kinesisStream != "" {
		if err := genToKinesis(ctx, o, logger); err != nil {
			return err
		}
		if o.out == "" {
			return nil
		}
	}
	g := corpus.New(corpus.Options{Seed: o.seed, Hotels: o.hotels})
	var progress func(int)
	var finish func(error)
	if o.count >= genProgressMin {
		progress, finish = newGenProgress(stderr, o.count, logger)
	}
	start := time.Now()
	err := g.WriteDir(ctx, o.out, o.count, progress)
	if finish != nil {
		finish(err)
	}
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	n, size := g.Generated()
	secs := time.Since(start).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(n) / secs
	}
	logger.Info("corpus written", "dir", o.out, "messages", n, "bytes", size,
		"seconds", fmt.Sprintf("%.2f", secs), "messages_per_second", fmt.Sprintf("%.0f", rate))
	return nil
}

// newGenProgress returns a progress callback and a finisher (called with the
// run's error) that closes it: a progress bar
// when stderr is a terminal, else one log line per tenth of the work (so CI
// logs stay short).
func newGenProgress(stderr io.Writer, total int, logger *slog.Logger) (func(int), func(error)) {
	if isTerminal(stderr) {
		bar := progressbar.NewOptions(total,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("generating"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("msg"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }),
		)
		return func(done int) { _ = bar.Set(done) }, func(err error) {
			if err != nil {
				_ = bar.Exit() // keep the bar where it stopped
				fmt.Fprintln(stderr)
				return
			}
			_ = bar.Finish()
		}
	}
	next := 1
	return func(done int) {
		for next <= 10 && done*10 >= total*next {
			logger.Info("gen progress", "done", done, "total", total, "percent", next*10)
			next++
		}
	}, func(error) {}
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
