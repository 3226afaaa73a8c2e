package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Source is where a worker's messages come from, a batch at a time: a
// Kafka consumer group, a folder of files, the objects under an S3 prefix.
// Drain is the one loop that reads a Source, processes each batch and
// acknowledges it.
type Source interface {
	// Next blocks until the next batch is read and returns it. A finite
	// source returns io.EOF once it has nothing more (and a stream that
	// stops by itself, e.g. when idle, does the same). When ctx ends Next
	// returns ctx's error promptly: the worker stops taking work.
	Next(ctx context.Context) (Batch, error)
}

// Batch is messages read together and how to acknowledge them.
type Batch struct {
	Messages []Message
	// Ack moves the source past the batch (commits its offsets, saves its
	// position, marks it done) once every message was processed and every
	// sink acknowledged it; outcomes are Process's, one per message. nil
	// when the source keeps no position. Its error stops Drain.
	Ack func(ctx context.Context, outcomes []Outcome) error
	// Name says which messages the batch holds, for errors ("files
	// 0-499"); "" gives "a batch of N messages".
	Name string
}

func (b *Batch) name() string {
	if b.Name != "" {
		return b.Name
	}
	return fmt.Sprintf("a batch of %d messages", len(b.Messages))
}

// UnackedError is Drain's error for a batch that Process did not fully
// acknowledge: nothing of it was acknowledged (no offset committed, no
// checkpoint or mark moved), so the source delivers it again.
type UnackedError struct {
	Batch    string // the batch's Name
	Messages int
	Err      error
}

func (e *UnackedError) Error() string { return fmt.Sprintf("%s not acknowledged: %v", e.Batch, e.Err) }

// Unwrap returns Process's error.
func (e *UnackedError) Unwrap() error { return e.Err }

// Drain reads src batch by batch until it is exhausted (io.EOF) or ctx
// ends, and for each batch: Process, then Ack, then opts.OnBatch, so that
// a source's position moves only past messages every sink acknowledged.
// One batch is in flight at a time. When ctx ends, the batch in flight
// gets opts.ShutdownTimeout to be processed and acknowledged (the second
// step of the shutdown), then Drain returns nil. A batch that Process or
// Ack fails ends Drain with the error, the batch unacknowledged: the
// source delivers it again to whoever reads next; that error is an
// *UnackedError when Process failed.
func Drain(ctx context.Context, src Source, proc *Processor, opts RunOptions) error {
	opts.defaults()
	drain, cancelDrain := drainContext(ctx, opts.ShutdownTimeout)
	defer cancelDrain()
	for ctx.Err() == nil {
		b, err := src.Next(ctx)
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil && ctx.Err() != nil:
			return nil // stopped while waiting for work
		case err != nil:
			return err
		}
		if len(b.Messages) == 0 {
			continue
		}
		outcomes, err := proc.Process(drain, b.Messages)
		if err != nil {
			return &UnackedError{Batch: b.name(), Messages: len(b.Messages), Err: err}
		}
		if b.Ack != nil {
			if err := b.Ack(drain, outcomes); err != nil {
				return fmt.Errorf("%s stored but not acknowledged: %w", b.name(), err)
			}
		}
		if opts.OnBatch != nil {
			opts.OnBatch(outcomes)
		}
	}
	return nil
}
