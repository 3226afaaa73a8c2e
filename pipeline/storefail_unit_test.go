package pipeline_test

import (
	"errors"
	"testing"

	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/sinks"
)

// TestProcessorStoreErrorsAreRetried: a store failure, as a batch error or
// as the error of every record, of any class (permanent ones included), is
// retried until the store is back and dead-letters nothing; it is counted
// by class.
func TestProcessorStoreErrorsAreRetried(t *testing.T) {
	t.Parallel()
	missing := sinks.NewStoreError("archive", sinks.ClassMissing, "create it", errors.New("NoSuchBucket"))
	denied := sinks.NewStoreError("dynamo", sinks.ClassPermission, "", errors.New("AccessDenied"))
	tests := []struct {
		name  string
		batch bool // a batch error (no results) rather than per-record results
		err   error
		class string
	}{
		{"missing bucket, batch error", true, missing, "missing"},
		{"access denied, batch error", true, denied, "permission"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, ledger := newFakeSink(), newFakeLedger()
			store.batchErr, store.batchFails = tt.err, 5
			proc, metrics := unitProcessor(t, ledger, nil, store)
			outcomes, err := proc.Process(unitContext(t), batch(0, unitMessage(1, "9201"), unitMessage(1, "9202")))
			if err != nil {
				t.Fatalf("Process: %v", err)
			}
			for i, o := range outcomes {
				if o != pipeline.OutcomeStored {
					t.Errorf("message %d: %s, want stored once the store is back", i, o)
				}
			}
			if len(ledger.letters) != 0 {
				t.Errorf("%d dead letters for a store failure", len(ledger.letters))
			}
			if got := counterValue(t, metrics.SinkRetries.WithLabelValues("postgres", tt.class)); got != 10 {
				t.Errorf("retries{postgres,%s} = %v, want 10 (2 records x 5 failed calls)", tt.class, got)
			}
		})
	}
	t.Run("unknown error stays the record's", func(t *testing.T) {
		t.Parallel()
		store, ledger := newFakeSink(), newFakeLedger()
		store.refuse["9301"] = true // a plain permanent error
		proc, _ := unitProcessor(t, ledger, nil, store)
		outcomes, err := proc.Process(unitContext(t), batch(0, unitMessage(1, "9301")))
		if err != nil || outcomes[0] != pipeline.OutcomeDeadLettered {
			t.Fatalf("Process = %v, %v; an unknown error must stay the record's", outcomes, err)
		}
	})
}
