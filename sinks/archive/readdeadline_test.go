package archive

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/resingest/resingest/internal/testenv"
)

// TestReadsHaveADeadline: reading an archive object or an archived dead
// letter from a frozen S3 fails within the attempt deadline instead of
// hanging `dlq show`, `dlq replay` or a backfill from the archive.
func TestReadsHaveADeadline(t *testing.T) {
	t.Parallel()
	c, err := NewClient(testContext(t), testenv.FrozenEndpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	const attempt = 300 * time.Millisecond
	s := New(c, Options{Bucket: "frozen", AttemptTimeout: attempt})
	reads := map[string]func(ctx context.Context) error{
		"Read":           func(ctx context.Context) error { _, err := s.Read(ctx, "dt=2024-05-01/x.jsonl.gz"); return err },
		"ReadDeadLetter": func(ctx context.Context) error { _, err := s.ReadDeadLetter(ctx, "dead-letters/x.xml.gz"); return err },
	}
	for name, read := range reads {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			began := time.Now()
			err := read(ctx)
			took := time.Since(began)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s from a frozen S3: %v, want the attempt deadline", name, err)
			}
			if took > 10*attempt {
				t.Errorf("%s took %v against a frozen S3, want about the attempt deadline (%v)", name, took, attempt)
			}
		})
	}
}
