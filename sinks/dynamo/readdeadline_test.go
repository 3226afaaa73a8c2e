package dynamo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/reservation"
)

// TestReadsHaveADeadline: every read the API makes fails within the
// attempt deadline against a frozen DynamoDB instead of holding the
// request until the client gives up.
func TestReadsHaveADeadline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client, err := NewClient(ctx, testenv.FrozenEndpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	const attempt = 300 * time.Millisecond
	s := New(client, Options{Table: "frozen", AttemptTimeout: attempt})
	reads := map[string]func(ctx context.Context) error{
		"Get": func(ctx context.Context) error {
			_, _, err := s.Get(ctx, reservation.Key{HotelCode: "H", Confirmation: "C"})
			return err
		},
		"QueryArrivals": func(ctx context.Context) error {
			_, err := s.QueryArrivals(ctx, "H", "2026-06-01", 10, "")
			return err
		},
		"QueryGuest": func(ctx context.Context) error { _, err := s.QueryGuest(ctx, "g", "", ""); return err },
		"KeysByConfirmation": func(ctx context.Context) error {
			_, err := s.KeysByConfirmation(ctx, "C", 5)
			return err
		},
	}
	for name, read := range reads {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			began := time.Now()
			err := read(ctx)
			took := time.Since(began)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s from a frozen DynamoDB: %v, want the attempt deadline", name, err)
			}
			if took > 10*attempt {
				t.Errorf("%s took %v against a frozen DynamoDB, want about the attempt deadline (%v)", name, took, attempt)
			}
		})
	}
}
