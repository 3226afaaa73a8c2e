package main

import (
	"context"

	"github.com/resingest/resingest/sinks/archive"
)

// openArchive connects the S3 archive and makes sure its bucket exists.
func openArchive(ctx context.Context, endpoint string, opts archive.Options) (*archive.Sink, func(), error) {
	client, err := archive.NewClient(ctx, endpoint)
	if err != nil {
		return nil, nil, err
	}
	a := archive.New(client, opts)
	if err := a.EnsureBucket(ctx); err != nil {
		return nil, nil, err
	}
	return a, func() { _ = a.Close() }, nil
}
