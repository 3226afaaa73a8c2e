// Package sourcetest is the contract every finite pipeline.Source must
// keep, as a test suite that a source's own tests run with a way to make
// it over given messages (Run). Streams (Kafka, Kinesis) keep the same
// contract through their end-to-end tests, which need a broker.
package sourcetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/resingest/resingest/pipeline"
)

// Store puts msgs (each a whole message, in the order the source must
// deliver them) where the source reads (a folder, a bucket prefix) and
// returns how to open a source over them. Called once per subtest.
type Store func(t *testing.T, msgs [][]byte) Open

// Open makes a new source over the stored messages holding at most batch
// messages per batch; a second source over the same store must give the
// same positions.
type Open func(t *testing.T, batch int) pipeline.Source

// Run checks the contract: every message delivered once, in order, with
// its bytes; batches no larger than asked; source, partition and position
// set, positions distinct and the same in a second reading; io.EOF at the
// end and after it; a context that has ended stops Next.
func Run(t *testing.T, store Store) {
	msgs := make([][]byte, 23)
	for i := range msgs {
		msgs[i] = []byte(fmt.Sprintf(`<OTA_HotelResNotifRQ EchoToken="contract-%02d"/>`, i))
	}
	const batch = 5
	read := func(t *testing.T, src pipeline.Source) []pipeline.Message {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var all []pipeline.Message
		for {
			b, err := src.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if len(b.Messages) == 0 || len(b.Messages) > batch {
				t.Fatalf("a batch of %d messages, want 1 to %d", len(b.Messages), batch)
			}
			all = append(all, b.Messages...)
		}
		if _, err := src.Next(ctx); !errors.Is(err, io.EOF) {
			t.Fatalf("Next after the end: %v, want io.EOF", err)
		}
		return all
	}
	t.Run("every message once, in order", func(t *testing.T) {
		got := read(t, store(t, msgs)(t, batch))
		if len(got) != len(msgs) {
			t.Fatalf("%d messages delivered, want %d", len(got), len(msgs))
		}
		seen := map[string]bool{}
		for i, m := range got {
			if string(m.Value) != string(msgs[i]) {
				t.Errorf("message %d is %q, want %q", i, m.Value, msgs[i])
			}
			if m.Source == "" || m.Partition == "" || m.Position == "" || m.ReceivedAt.IsZero() {
				t.Errorf("message %d lacks where it came from: %+v", i, m)
			}
			key := m.Source + "|" + m.Partition + "|" + m.Position
			if seen[key] {
				t.Errorf("message %d repeats position %s", i, key)
			}
			seen[key] = true
		}
	})
	t.Run("positions are stable across readings", func(t *testing.T) {
		open := store(t, msgs)
		first := read(t, open(t, batch))
		second := read(t, open(t, batch))
		if len(first) != len(second) {
			t.Fatalf("%d then %d messages", len(first), len(second))
		}
		for i := range first {
			if first[i].Position != second[i].Position || first[i].Partition != second[i].Partition {
				t.Errorf("message %d: position %s/%s, then %s/%s", i, first[i].Partition, first[i].Position, second[i].Partition, second[i].Position)
			}
		}
	})
	t.Run("an ended context stops Next", func(t *testing.T) {
		src := store(t, msgs)(t, batch)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if b, err := src.Next(ctx); err == nil {
			t.Errorf("Next on an ended context gave a batch of %d and no error", len(b.Messages))
		}
	})
}
