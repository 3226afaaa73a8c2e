package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/resingest/resingest/sinks/postgres"
)

// partitionFlags are the partition upkeep settings of 'db partitions' and
// 'consume'.
type partitionFlags struct {
	ahead     int
	retention postgres.Retention
	every     time.Duration // consume only
}

func (f *partitionFlags) register(fl *pflag.FlagSet, withInterval bool) {
	fl.IntVar(&f.ahead, "partitions-ahead", postgres.DefaultMonthsAhead, "create the audit, dead-letter and PII access partitions of this many months after the current one")
	fl.IntVar(&f.retention.Audit, "audit-retention-months", 0, "drop audit partitions whose month ended more than this many months ago (0: keep all)")
	fl.IntVar(&f.retention.DeadLetters, "dead-letter-retention-months", 0, "drop dead-letter partitions whose month ended more than this many months ago (0: keep all)")
	fl.IntVar(&f.retention.PIIAccess, "pii-access-retention-months", 0, "drop PII access audit partitions whose month ended more than this many months ago (0: keep all)")
	if withInterval {
		fl.DurationVar(&f.every, "partition-upkeep-interval", 6*time.Hour, "how often the worker creates partitions ahead and drops expired ones")
	}
}

// registerUpkeep registers the settings of a process that only creates
// partitions ahead (serve, lambda): retention stays with the worker and
// 'db partitions'.
func (f *partitionFlags) registerUpkeep(fl *pflag.FlagSet, every time.Duration) {
	fl.IntVar(&f.ahead, "partitions-ahead", postgres.DefaultMonthsAhead, "create the audit, dead-letter and PII access partitions of this many months after the current one")
	fl.DurationVar(&f.every, "partition-upkeep-interval", every, "how often to create the month partitions ahead (0: never; then a worker or 'resingest db partitions' must)")
}

// validateUpkeep checks what registerUpkeep registered.
func (f *partitionFlags) validateUpkeep() error {
	if f.ahead < 0 || f.ahead > 24 {
		return fmt.Errorf("--partitions-ahead %d: must be 0 to 24", f.ahead)
	}
	if f.every < 0 {
		return fmt.Errorf("--partition-upkeep-interval %s: must not be negative", f.every)
	}
	return nil
}

func (f *partitionFlags) validate(withInterval bool) error {
	if f.ahead < 0 || f.ahead > 24 {
		return fmt.Errorf("--partitions-ahead %d: must be 0 to 24", f.ahead)
	}
	for name, v := range map[string]int{
		"--audit-retention-months": f.retention.Audit, "--dead-letter-retention-months": f.retention.DeadLetters,
		"--pii-access-retention-months": f.retention.PIIAccess,
	} {
		if v < 0 {
			return fmt.Errorf("%s %d: must be 0 (keep all) or more", name, v)
		}
	}
	if withInterval && f.every <= 0 {
		return errors.New("--partition-upkeep-interval must be positive")
	}
	return nil
}

func newDBPartitionsCmd() *cobra.Command {
	var f partitionFlags
	var pgURL string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "partitions",
		Short: "Create month partitions ahead, drop expired ones, list them",
		Long: `partitions keeps the tables that grow with traffic — audit and its lineage
audit_records, dead_letters and pii_access, partitioned by UTC month
(TABLE_YYYYMM) — in shape: it creates
the partitions of the current month and --partitions-ahead months after it,
and a partition for any month whose rows wait in a TABLE_default partition
(moving them in); with a retention flag it drops, whole, the partitions of
months that ended more than that many months ago; then it lists every
partition with its size.

The worker (consume) does the same every --partition-upkeep-interval with
the same flags, and 'db migrate' creates partitions ahead, so this command
is for cron jobs, first-time checks and dry runs. Rows are never lost for
want of a partition: they wait in the default partition.`,
		Example: `  resingest db partitions
  resingest db partitions --audit-retention-months 13 --dead-letter-retention-months 6 --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(false); err != nil {
				return err
			}
			if pgURL == "" {
				pgURL = strings.TrimSpace(os.Getenv(envPGURL))
			}
			if pgURL == "" {
				return errNoPGURL
			}
			return runDBPartitions(cmd.Context(), pgURL, f, dryRun, time.Now(), cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&pgURL, "pg-url", "", "Postgres URL (default $"+envPGURL+")")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "change nothing; list the partitions and say which the retention would drop")
	f.register(cmd.Flags(), false)
	return cmd
}

func runDBPartitions(ctx context.Context, url string, f partitionFlags, dryRun bool, now time.Time, out io.Writer) error {
	conn, err := postgres.ConnectURL(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if !dryRun {
		created, err := postgres.EnsureMonthPartitions(ctx, conn, now, f.ahead)
		for _, p := range created {
			fmt.Fprintf(out, "created %s\n", p)
		}
		if err != nil {
			return err
		}
		dropped, err := postgres.DropExpiredPartitions(ctx, conn, now, f.retention)
		for _, p := range dropped {
			fmt.Fprintf(out, "dropped %s\n", p)
		}
		if err != nil {
			return err
		}
	}
	parts, err := postgres.MonthPartitions(ctx, conn)
	if err != nil {
		return err
	}
	expired := map[string]bool{}
	for _, p := range postgres.ExpiredPartitions(parts, now, f.retention) {
		expired[p.Name] = true
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tPARTITION\tMONTH\tSIZE\t")
	for _, p := range parts {
		note := ""
		if expired[p.Name] {
			note = "would be dropped"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Table, p.Name, p.Month.Format("2006-01"), humanBytes(p.Bytes), note)
	}
	return tw.Flush()
}

// humanBytes prints n as kB, MB or GB (powers of 1024), as psql's
// pg_size_pretty does.
func humanBytes(n int64) string {
	const unit = 1024
	if n < 10*unit {
		return fmt.Sprintf("%d bytes", n)
	}
	v, suffix := float64(n)/unit, "kB"
	for _, s := range []string{"MB", "GB", "TB"} {
		if v < 10*unit {
			break
		}
		v, suffix = v/unit, s
	}
	return fmt.Sprintf("%.0f %s", v, suffix)
}
