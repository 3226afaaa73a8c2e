package pipeline_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/reservation"
)

// sliceSource hands out fixed batches, records what was acknowledged and
// whether the stores held each batch when it was, and can fail or stop.
type sliceSource struct {
	batches [][]pipeline.Message
	next    int
	store   *fakeSink
	ackErr  error
	// block makes Next wait for ctx after the batches are out (a stream).
	block bool
	// cancelAfter cancels the worker's context as it hands out batch i.
	cancelAfter int
	cancel      context.CancelFunc

	acked      []int // batch numbers acknowledged, in order
	ackedWhole []bool
	outcomes   []int
}

func (s *sliceSource) Next(ctx context.Context) (pipeline.Batch, error) {
	if s.next >= len(s.batches) {
		if s.block {
			<-ctx.Done()
			return pipeline.Batch{}, ctx.Err()
		}
		return pipeline.Batch{}, io.EOF
	}
	i := s.next
	s.next++
	if s.cancel != nil && i == s.cancelAfter {
		s.cancel()
	}
	msgs := s.batches[i]
	return pipeline.Batch{
		Messages: msgs,
		Name:     "batch " + string(rune('A'+i)),
		Ack: func(_ context.Context, outcomes []pipeline.Outcome) error {
			s.acked = append(s.acked, i)
			s.outcomes = append(s.outcomes, len(outcomes))
			whole := true
			for _, m := range msgs {
				conf := confOf(m)
				s.store.mu.Lock()
				_, ok := s.store.stored[reservation.Key{HotelCode: "H00001", Confirmation: conf}]
				s.store.mu.Unlock()
				whole = whole && ok
			}
			s.ackedWhole = append(s.ackedWhole, whole)
			return s.ackErr
		},
	}, nil
}

// confOf is the confirmation unitMessage put in m.
func confOf(m pipeline.Message) string {
	v := string(m.Value)
	i := strings.Index(v, `<UniqueID Type="14" ID="`) + len(`<UniqueID Type="14" ID="`)
	return v[i : i+strings.IndexByte(v[i:], '"')]
}

func threeBatches() [][]pipeline.Message {
	return [][]pipeline.Message{
		batch(0, unitMessage(1, "S1"), unitMessage(1, "S2")),
		batch(2, unitMessage(1, "S3")),
		batch(3, unitMessage(1, "S4"), unitMessage(1, "S5"), unitMessage(1, "S6")),
	}
}

// TestDrain is the contract of the one loop every source runs through:
// each batch processed, then acknowledged with its outcomes (never before
// every store holds it, never when processing failed), then reported; the
// end of a finite source and a stop while waiting are clean; a batch in
// flight when the stop comes is finished and acknowledged first.
func TestDrain(t *testing.T) {
	t.Run("every batch stored, then acknowledged, in order", func(t *testing.T) {
		store := newFakeSink()
		proc, _ := unitProcessor(t, newFakeLedger(), nil, store)
		src := &sliceSource{batches: threeBatches(), store: store}
		var reported atomic.Int64
		err := pipeline.Drain(unitContext(t), src, proc, pipeline.RunOptions{
			OnBatch: func(o []pipeline.Outcome) { reported.Add(int64(len(o))) },
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(src.acked) != 3 || src.acked[0] != 0 || src.acked[2] != 2 || src.outcomes[2] != 3 {
			t.Fatalf("acknowledged %v with %v outcomes", src.acked, src.outcomes)
		}
		for i, whole := range src.ackedWhole {
			if !whole {
				t.Errorf("batch %d acknowledged before the store held it", i)
			}
		}
		if reported.Load() != 6 {
			t.Errorf("OnBatch saw %d outcomes, want 6", reported.Load())
		}
	})
	t.Run("a batch that fails is not acknowledged", func(t *testing.T) {
		store := newFakeSink()
		store.batchErr, store.batchFails = errBoom, -1
		proc, _ := unitProcessor(t, newFakeLedger(), nil, store)
		src := &sliceSource{batches: threeBatches(), store: store}
		ctx, cancel := context.WithTimeout(unitContext(t), 5*time.Second)
		defer cancel()
		err := pipeline.Drain(ctx, src, proc, pipeline.RunOptions{ShutdownTimeout: time.Second})
		if err == nil || !strings.Contains(err.Error(), "batch A not acknowledged") {
			t.Fatalf("Drain: %v, want batch A named as not acknowledged", err)
		}
		if len(src.acked) != 0 || src.next != 1 {
			t.Errorf("after a failed batch: acknowledged %v, read %d batches", src.acked, src.next)
		}
	})
	t.Run("an acknowledgement that fails stops the loop", func(t *testing.T) {
		store := newFakeSink()
		proc, _ := unitProcessor(t, newFakeLedger(), nil, store)
		src := &sliceSource{batches: threeBatches(), store: store, ackErr: errors.New("commit refused")}
		err := pipeline.Drain(unitContext(t), src, proc, pipeline.RunOptions{})
		if err == nil || !strings.Contains(err.Error(), "commit refused") || src.next != 1 {
			t.Fatalf("Drain: %v after %d batches", err, src.next)
		}
	})
	t.Run("a stop while waiting is clean", func(t *testing.T) {
		store := newFakeSink()
		proc, _ := unitProcessor(t, newFakeLedger(), nil, store)
		src := &sliceSource{batches: threeBatches()[:1], store: store, block: true}
		ctx, cancel := context.WithCancel(unitContext(t))
		time.AfterFunc(200*time.Millisecond, cancel)
		if err := pipeline.Drain(ctx, src, proc, pipeline.RunOptions{}); err != nil {
			t.Fatal(err)
		}
		if len(src.acked) != 1 {
			t.Errorf("acknowledged %v, want the one batch", src.acked)
		}
	})
	t.Run("the batch in flight at a stop is finished", func(t *testing.T) {
		store := newFakeSink()
		proc, _ := unitProcessor(t, newFakeLedger(), nil, store)
		ctx, cancel := context.WithCancel(unitContext(t))
		src := &sliceSource{batches: threeBatches(), store: store, cancel: cancel, cancelAfter: 1}
		if err := pipeline.Drain(ctx, src, proc, pipeline.RunOptions{ShutdownTimeout: 10 * time.Second}); err != nil {
			t.Fatal(err)
		}
		if len(src.acked) != 2 || !src.ackedWhole[1] || src.next != 2 {
			t.Errorf("acknowledged %v (whole %v) after reading %d batches; want batches 0 and 1, no third read", src.acked, src.ackedWhole, src.next)
		}
	})
}
