package sinks_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/resingest/resingest/sinks"
)

func TestRetryableClassification(t *testing.T) {
	base := errors.New("connection reset")
	r := sinks.Retryable(base)
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"marked", r, true},
		{"marked and wrapped", fmt.Errorf("postgres: %w", r), true},
		{"sentinel wrapped", fmt.Errorf("x: %w", sinks.ErrRetryable), true},
		{"unknown is not retryable", base, false},
		{"nil", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := sinks.IsRetryable(tc.err); got != tc.want {
				t.Errorf("IsRetryable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
	if !errors.Is(r, base) || r.Error() != base.Error() {
		t.Errorf("Retryable lost its cause: %v", r)
	}
	if sinks.Retryable(nil) != nil {
		t.Error("Retryable(nil) is not nil")
	}
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	b := sinks.Backoff{Initial: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	for n := 0; n < 20; n++ {
		ceiling := min(b.Max, b.Initial<<min(n, 10))
		seen := map[time.Duration]bool{}
		for i := 0; i < 50; i++ {
			d := b.Delay(n)
			if d < 0 || d > ceiling {
				t.Fatalf("Delay(%d) = %v, want within [0, %v]", n, d, ceiling)
			}
			seen[d] = true
		}
		if len(seen) < 5 {
			t.Errorf("Delay(%d) took only %d distinct values in 50 draws: no jitter", n, len(seen))
		}
	}
}

func TestBackoffWaitRespectsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	err := sinks.Backoff{Initial: time.Hour, Max: time.Hour}.Wait(ctx, 3)
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Errorf("Wait on a cancelled context = %v after %v", err, time.Since(start))
	}
}

func TestGateWaitsForWritesInProgress(t *testing.T) {
	var g sinks.Gate
	if !g.Enter() {
		t.Fatal("a new gate refused a write")
	}
	closed := make(chan struct{})
	go func() { g.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a write was in progress")
	case <-time.After(50 * time.Millisecond):
	}
	g.Leave()
	<-closed
	if g.Enter() {
		t.Error("a closed gate let a write in")
	}
	g.Close() // idempotent
}
