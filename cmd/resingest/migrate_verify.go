package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/migrate"
	"github.com/resingest/resingest/sinks/archive"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

type verifyFlags struct {
	extractFlags
	dynamoMode string
}

// migrateSources lists the extract files of from: a directory or
// s3://bucket/prefix.
func migrateSources(ctx context.Context, from, s3Endpoint string) ([]migrate.Source, error) {
	if !migrate.IsS3URL(from) {
		files, err := migrate.Files(from)
		if err != nil {
			return nil, err
		}
		return migrate.LocalSources(files)
	}
	u, err := migrate.ParseS3URL(from)
	if err != nil {
		return nil, err
	}
	client, err := archive.NewClient(ctx, s3Endpoint)
	if err != nil {
		return nil, err
	}
	return migrate.S3Sources(ctx, client, u)
}

func newMigrateVerifyCmd() *cobra.Command {
	var f verifyFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Compare an EDW extract with what Postgres and DynamoDB hold",
		Long: `verify reads the extract in --from (the newest version of every key, malformed
rows left out), and compares per hotel the count and a checksum of
confirmation and version with the reservations in Postgres and, unless
--dynamo-mode off, the DynamoDB table. It prints the totals and every hotel
that differs, and exits with status 1 when any does. A key the live stream
wrote since (a newer version, or a key absent from the extract) is a
difference too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrateVerify(cmd.Context(), f, cmd.OutOrStdout())
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&f.dynamoMode, "dynamo-mode", "batch", "compare DynamoDB too (batch, import-files: the table) or not (off)")
	return cmd
}

func runMigrateVerify(ctx context.Context, f verifyFlags, stdout io.Writer) error {
	if f.pgURL == "" {
		return errNoPGURL
	}
	srcs, err := migrateSources(ctx, f.from, f.s3Endpoint)
	if err != nil {
		return err
	}
	pg, err := postgres.New(ctx, f.pgURL, postgres.Options{})
	if errors.Is(err, postgres.ErrInvalidURL) {
		return err // says no more: the parse error may quote the password
	}
	if err != nil {
		return fmt.Errorf("migrate verify: %w", err)
	}
	defer pg.Close()
	var opts migrate.VerifyOptions
	if f.dynamoMode != "off" {
		client, err := dynamo.NewClient(ctx, f.dynamoEndpoint)
		if err != nil {
			return err
		}
		opts.Dynamo, opts.DynamoTable = client, f.dynamoTable
	}
	rep, err := migrate.Verify(ctx, pg, srcs, opts)
	if err != nil {
		return err
	}
	if err := rep.Write(stdout); err != nil {
		return err
	}
	if !rep.OK() {
		return exitError{code: 1}
	}
	return nil
}
