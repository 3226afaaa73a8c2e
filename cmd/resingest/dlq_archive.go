package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/sinks/archive"
	"github.com/resingest/resingest/sinks/postgres"
)

// dlqArchiveFlags point 'dlq show' at the archive that holds the whole
// message of truncated dead letters.
type dlqArchiveFlags struct {
	s3Endpoint string
	bucket     string
}

// wholeLetter replaces the prefix of truncated letter d by its whole
// message from the archive, when the letter has an archive copy and a
// bucket is given. It returns a note for the reader about what d.Message
// holds. keyring (may be nil) opens sealed archive objects.
func (f *dlqArchiveFlags) wholeLetter(ctx context.Context, d *postgres.DeadLetter, keyring *pii.Keyring) (string, error) {
	switch {
	case !d.Truncated:
		return "", nil
	case d.ArchiveKey == "":
		return fmt.Sprintf("TRUNCATED: first %d of %d bytes; no archive copy exists, so this letter cannot be replayed from the prefix",
			len(d.Message), d.MessageBytes), nil
	case f.bucket == "":
		return fmt.Sprintf("TRUNCATED: first %d of %d bytes; the whole message is in the archive at key %s (set --archive-bucket to read it)",
			len(d.Message), d.MessageBytes, d.ArchiveKey), nil
	}
	client, err := archive.NewClient(ctx, f.s3Endpoint)
	if err != nil {
		return "", err
	}
	opts := archive.Options{Bucket: f.bucket}
	if keyring != nil {
		opts.Sealer = keyring
	}
	msg, err := archive.New(client, opts).ReadDeadLetter(ctx, d.ArchiveKey)
	if errors.Is(err, archive.ErrSealed) {
		return "", fmt.Errorf("letter %d: its archived message is encrypted: set --kek-file or --kms-key-id", d.ID)
	}
	if err != nil {
		return "", fmt.Errorf("letter %d: %w", d.ID, err)
	}
	d.Message = msg
	return fmt.Sprintf("whole message (%d bytes) read from s3://%s/%s; the row holds only its first bytes", len(msg), f.bucket, d.ArchiveKey), nil
}
