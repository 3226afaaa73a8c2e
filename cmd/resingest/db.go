package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

func init() { addCommand(newDBCmd) }

// envPGURL names the Postgres URL's environment variable.
const envPGURL = "RESINGEST_PG_URL"

// errNoPGURL is returned when neither --pg-url nor RESINGEST_PG_URL is set.
var errNoPGURL = errors.New("no Postgres URL: set --pg-url or " + envPGURL)

// schemaStep is one store's part of 'db migrate'. Steps run in order and
// the first failure stops the command; each must be idempotent, so that
// running 'db migrate' again after a failure finishes the job.
type schemaStep struct {
	name string
	run  func(ctx context.Context, out io.Writer) error
}

// dbMigrateFlags are the settings of 'db migrate'. A store added later
// gets its own fields here, flags in newDBMigrateCmd and a step in
// schemaSteps.
type dbMigrateFlags struct {
	pgURL          string
	dynamoEndpoint string
	dynamoTable    string
	skipDynamo     bool
}

// schemaSteps lists what 'db migrate' does, in order: Postgres first, then
// (once its package is wired here) the DynamoDB table.
func schemaSteps(f *dbMigrateFlags) []schemaStep {
	return []schemaStep{
		{name: "postgres", run: func(ctx context.Context, out io.Writer) error {
			return migratePostgres(ctx, f.pgURL, out)
		}},
		{name: "dynamodb", run: func(ctx context.Context, out io.Writer) error {
			if f.skipDynamo {
				fmt.Fprintln(out, "dynamodb: skipped (--skip-dynamo)")
				return nil
			}
			return migrateDynamo(ctx, f.dynamoEndpoint, f.dynamoTable, out)
		}},
	}
}

func newDBCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Manage the stores' schemas",
	}
	cmd.AddCommand(newDBMigrateCmd(), newDBPartitionsCmd())
	return cmd
}

func newDBMigrateCmd() *cobra.Command {
	var f dbMigrateFlags
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the stores' schemas",
		Long: `migrate brings the stores' schemas up to date.

DynamoDB: creates the reservations table (--dynamo-table) with its
by_guest, by_hotel_arrival and by_confirmation indexes when it is missing.

Postgres: applies the versioned SQL migrations built into the binary
(sinks/postgres/migrations/NNNN_name.sql) that the database has not applied
yet, each in its own transaction, and records them in schema_migrations.
Running it again is a no-op, and several migrators at once are safe (they
take turns on an advisory lock). The tables go to the first schema on the
connection's search_path. Then it creates the month partitions of audit,
dead_letters and pii_access for the current month and the 3 after it (see
'resingest db partitions').`,
		Example: `  resingest db migrate --pg-url postgres://resingest@127.0.0.1:55432/resingest
  RESINGEST_PG_URL=postgres://... resingest db migrate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.pgURL == "" {
				f.pgURL = strings.TrimSpace(os.Getenv(envPGURL))
			}
			for _, step := range schemaSteps(&f) {
				if err := step.run(cmd.Context(), cmd.OutOrStdout()); err != nil {
					return fmt.Errorf("db migrate: %s: %w", step.name, err)
				}
			}
			return nil
		},
	}
	// The default is read at run time, not shown: the URL may hold a password.
	cmd.Flags().StringVar(&f.pgURL, "pg-url", "", "Postgres URL (default $"+envPGURL+")")
	cmd.Flags().StringVar(&f.dynamoEndpoint, "dynamo-endpoint", "", "DynamoDB endpoint URL; empty: AWS's (env RESINGEST_DYNAMO_ENDPOINT)")
	cmd.Flags().StringVar(&f.dynamoTable, "dynamo-table", dynamo.DefaultTable, "DynamoDB table to create when missing")
	cmd.Flags().BoolVar(&f.skipDynamo, "skip-dynamo", false, "leave DynamoDB alone (Postgres only)")
	return cmd
}

// migrateDynamo creates the reservations table and its indexes when
// missing. Index creation on AWS can take minutes.
func migrateDynamo(ctx context.Context, endpoint, table string, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	client, err := dynamo.NewClient(ctx, endpoint)
	if err != nil {
		return err
	}
	if err := dynamo.EnsureTable(ctx, client, table); err != nil {
		return err
	}
	fmt.Fprintf(out, "dynamodb: table %s ready\n", table)
	return nil
}

// migratePostgres applies the pending Postgres migrations and says which.
func migratePostgres(ctx context.Context, url string, out io.Writer) error {
	if url == "" {
		return errNoPGURL
	}
	applied, err := postgres.MigrateURL(ctx, url)
	for _, m := range applied {
		fmt.Fprintf(out, "postgres: applied %s\n", m.Name)
	}
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(out, "postgres: schema up to date")
	}
	conn, err := postgres.ConnectURL(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	created, err := postgres.EnsureMonthPartitions(ctx, conn, time.Now(), postgres.DefaultMonthsAhead)
	for _, p := range created {
		fmt.Fprintf(out, "postgres: created partition %s\n", p)
	}
	return err
}
