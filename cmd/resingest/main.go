// Command resingest ingests HTNG / OpenTravel reservation messages, stores
// them in Postgres and DynamoDB, archives them to S3 and serves itineraries.
//
// Each subcommand lives in its own file and registers itself with
// addCommand from an init function; main only wires packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// commandBuilders are the subcommand constructors registered by init
// functions in this package's files.
var commandBuilders []func() *cobra.Command

// addCommand registers a subcommand constructor. Call it from init.
func addCommand(build func() *cobra.Command) {
	commandBuilders = append(commandBuilders, build)
}

// exitError carries a specific exit status without printing anything more
// (the command already reported what went wrong).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newRootCmd() *cobra.Command {
	var logs logFlags
	root := &cobra.Command{
		Use:   "resingest",
		Short: "Ingest HTNG/OpenTravel reservation messages into Postgres, DynamoDB and S3",
		Long: `resingest ingests HTNG / OpenTravel reservation messages from Kafka,
Kinesis (shard leases, or as an AWS Lambda handler) or files, extracts them
with XPath mappings into a canonical reservation record, stores them in
Postgres and DynamoDB with guests' personal data encrypted, archives the raw
messages, redacted and sealed, to S3, backfills history from EDW extracts
(resingest migrate), and serves itineraries through a REST API (resingest
serve).

Every flag can also be set by an environment variable: RESINGEST_ and the
flag's name in capitals with - as _ (--pg-url: RESINGEST_PG_URL); --brokers
reads RESINGEST_KAFKA_BROKERS. A flag on the command line wins over the
environment. 'scripts/dev-services env' prints the local services' settings.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd); err != nil {
				return err
			}
			return logs.install()
		},
	}
	logs.register(root)
	for _, build := range commandBuilders {
		root.AddCommand(build())
	}
	return root
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal asks commands to stop cleanly; after it the default
	// handling is back, so a second signal ends the process at once.
	context.AfterFunc(ctx, stop)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "resingest:", err)
		os.Exit(1)
	}
}
