package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/resingest/resingest/internal/awsclient"
	"github.com/resingest/resingest/pipeline"
)

// defaultStoreTimeout is --store-timeout's default: long enough for a
// large batch statement, short enough that a frozen store is noticed.
const defaultStoreTimeout = 10 * time.Second

// dynamoAttempts bounds a record's DynamoDB attempts within one write when
// --store-timeout is set, so that a store failure comes back to the
// pipeline (which logs, counts and retries it with backoff) instead of
// being retried silently in the sink; 0 (retry until ctx ends) otherwise.
func (f *storeFlags) dynamoAttempts() int {
	if f.storeTimeout > 0 {
		return 4
	}
	return 0
}

// stalledStores is /readyz's view of the processor stored in p (none
// before it is built).
func stalledStores(p *atomic.Pointer[pipeline.Processor]) func() []string {
	return func() []string {
		if proc := p.Load(); proc != nil {
			return proc.Stalled()
		}
		return nil
	}
}

// watchStores publishes proc to /readyz through p, makes the AWS SDK's
// retries visible (counted on reg, logged), and runs proc.Watch (WARN lines
// naming a store without progress, resingest_sink_stalled) until the
// returned stop is called.
func watchStores(ctx context.Context, proc *pipeline.Processor, p *atomic.Pointer[pipeline.Processor], log *slog.Logger, reg prometheus.Registerer) (stop func()) {
	p.Store(proc)
	awsclient.ObserveRetries(log, reg)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		proc.Watch(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}
