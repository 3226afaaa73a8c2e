package lambdahandler_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/lambdahandler"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/sinks/postgres"
)

// cancelWithoutHotel is an OTA_CancelRQ that names only its confirmation.
const cancelWithoutHotel = `<OTA_CancelRQ xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="cxl-L900" TimeStamp="2026-05-02T09:00:00Z" CancelType="Commit">
  <UniqueID Type="14" ID="L900"/>
</OTA_CancelRQ>`

// postgresProcessor is a processor with the default mapping that stores,
// audits and resolves keys in pg.
func postgresProcessor(pg *postgres.Sink, log *slog.Logger) (*pipeline.Processor, error) {
	parser, err := parse.New(parse.Options{})
	if err != nil {
		return nil, err
	}
	return pipeline.NewProcessor(pipeline.Config{
		Parser: parser, Ledger: pg, Resolver: pg, Logger: log,
		Stores: []pipeline.NamedSink{{Name: "postgres", Sink: pg}},
	})
}

// TestHandleSweepsPending: a function that is the only consumer of a
// stream must still dead-letter records held for key resolution past
// --pending-ttl. A cancel without a hotel code and without its booking is
// held by the first invocation; an invocation after the TTL dead-letters
// it as unresolved, and one within the sweep interval does not sweep.
func TestHandleSweepsPending(t *testing.T) {
	t.Parallel()
	stores := e2e.Env(t)
	pg := stores.Postgres(t)
	const ttl = 300 * time.Millisecond
	log := slog.New(slog.DiscardHandler)
	handler := func(interval time.Duration) *lambdahandler.Handler {
		h := lambdahandler.New(func(context.Context) (lambdahandler.Processor, func(), error) {
			proc, err := postgresProcessor(pg, log)
			return proc, func() {}, err
		}, lambdahandler.Options{Logger: log, PendingTTL: ttl, PendingSweepInterval: interval})
		t.Cleanup(h.Close)
		return h
	}
	event := func(seq, data string) events.KinesisEvent {
		return events.KinesisEvent{Records: []events.KinesisEventRecord{{
			EventID:     "shardId-000000000000:" + seq,
			EventSource: "aws:kinesis",
			Kinesis:     events.KinesisRecord{Data: []byte(data), PartitionKey: "L900", SequenceNumber: seq},
		}}}
	}
	invoke := func(h *lambdahandler.Handler, ev events.KinesisEvent) {
		t.Helper()
		resp, err := h.Handle(context.Background(), ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("Handle: %v, failures %v", err, resp.BatchItemFailures)
		}
	}
	held := func() int {
		t.Helper()
		n, err := pg.CountPending(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// The first invocation holds the cancel (its sweep finds nothing
	// expired); one after the TTL sweeps it as unresolved.
	h := handler(100 * time.Millisecond)
	invoke(h, event("100", cancelWithoutHotel))
	if n := held(); n != 1 {
		t.Fatalf("%d records held after the cancel, want 1", n)
	}
	time.Sleep(ttl + 50*time.Millisecond)
	invoke(h, event("101", poisonXML))
	if n := held(); n != 0 {
		t.Fatalf("%d records still held after an invocation past the TTL, want 0", n)
	}
	var unresolved int
	for _, l := range stores.DeadLetters(t) {
		if strings.HasPrefix(l.Reason, pipeline.ReasonUnresolved) {
			unresolved++
		}
	}
	if unresolved != 1 {
		t.Errorf("%d dead letters as unresolved, want the held cancel", unresolved)
	}

	// Within the sweep interval an invocation does not sweep: an expired
	// record stays held until the interval has passed.
	slow := handler(time.Hour)
	invoke(slow, event("102", strings.ReplaceAll(cancelWithoutHotel, "L900", "L901")))
	time.Sleep(ttl + 50*time.Millisecond)
	invoke(slow, event("103", poisonXML))
	if n := held(); n != 1 {
		t.Errorf("%d records held after an invocation within the sweep interval, want the expired cancel still held", n)
	}
}
