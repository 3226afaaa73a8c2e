package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/reservation"
)

// TestKeyResolutionHasADeadline: against a frozen Postgres (its processes
// stopped, as SIGSTOP or a dead network path leaves them), every call of
// key resolution fails within the attempt deadline instead of holding the
// worker's batch for good.
func TestKeyResolutionHasADeadline(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	pg := testenv.StartPostgres(t)
	if _, err := MigrateURL(ctx, pg.URL()); err != nil {
		t.Fatal(err)
	}
	const attempt = 500 * time.Millisecond
	s, err := New(ctx, pg.URL(), Options{MaxConns: 2, AttemptTimeout: attempt})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close) // after the thaw below (cleanups run last first)
	// Connections made before the freeze, as a running worker has them.
	held := PendingRecord{Reservation: reservation.Reservation{Confirmation: "F1"}, Version: "v1",
		Source: "kafka", Partition: "t/0", Position: "1", MessageID: "m1", ReceivedAt: time.Now()}
	if err := s.Hold(ctx, []PendingRecord{held}); err != nil {
		t.Fatal(err)
	}
	if err := pg.Freeze(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Thaw() })
	calls := map[string]func(context.Context) error{
		"Candidates": func(ctx context.Context) error { _, err := s.Candidates(ctx, []string{"F1"}); return err },
		"Hold":       func(ctx context.Context) error { return s.Hold(ctx, []PendingRecord{held}) },
		"PendingConfirmations": func(ctx context.Context) error {
			_, err := s.PendingConfirmations(ctx, []string{"F1"})
			return err
		},
		"PendingFor": func(ctx context.Context) error { _, err := s.PendingFor(ctx, []string{"F1"}); return err },
		"FinishPending": func(ctx context.Context) error {
			_, err := s.FinishPending(ctx, []PendingDone{{Record: &held, Outcome: "resolved", HotelCode: "H1"}})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			began := time.Now()
			err := call(ctx)
			took := time.Since(began)
			if err == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
				t.Errorf("%s on a frozen Postgres: %v after %v, want a failure within the attempt deadline", name, err, took)
			}
			if took > 10*attempt {
				t.Errorf("%s took %v on a frozen Postgres, want about the attempt deadline (%v)", name, took, attempt)
			}
		})
	}
}
