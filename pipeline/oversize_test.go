package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

// TestRecordOneStoreCannotHold: a booking whose special request is too
// large for a DynamoDB item (a real sample with 450 KB of text, inside the
// parser's 1 MiB) is refused before any store writes: its message is
// dead-lettered naming DynamoDB, and neither store holds the reservation,
// while the other bookings of the batch are stored in both. Before, Postgres
// stored it while DynamoDB refused it: the stores disagreed.
func TestRecordOneStoreCannotHold(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	sample, err := os.ReadFile(filepath.Join("..", "..", "shared", "samples", "public", "devlabs91__generic-ota-hotel-api-service__Reservation.xml"))
	if err != nil {
		t.Fatal(err)
	}
	booking := func(conf, request string) []byte {
		s := strings.ReplaceAll(string(sample), `"3741"`, `"`+conf+`"`)
		return []byte(strings.Replace(s, "<Text>Yes</Text>", "<Text>"+request+"</Text>", 1))
	}
	msgs := []pipeline.Message{
		{Value: booking("OK-1", "Yes")},
		{Value: booking("BIG-1", strings.Repeat("late arrival, quiet room please. ", 14_000))}, // 462 KB
		{Value: booking("OK-2", "Yes")},
	}
	for i := range msgs {
		msgs[i].Source, msgs[i].Partition, msgs[i].Position, msgs[i].ReceivedAt = "file", "oversize", string(rune('0'+i)), time.Now()
	}
	parser, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pg := env.Postgres(t)
	proc, err := pipeline.NewProcessor(pipeline.Config{
		Parser: parser,
		Stores: []pipeline.NamedSink{{Name: "postgres", Sink: pg}, {Name: "dynamo", Sink: env.Dynamo(t)}},
		Ledger: pg, Metrics: pipeline.NewMetrics(prometheus.NewRegistry()), Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := proc.Process(ctx, msgs); err != nil {
		t.Fatalf("Process: %v", err)
	}

	for _, conf := range []string{"OK-1", "OK-2"} {
		k := reservation.Key{HotelCode: "HTL1", Confirmation: conf}
		if _, _, err := pg.Get(ctx, k); err != nil {
			t.Errorf("postgres %s: %v", k, err)
		}
		if _, _, err := env.Dynamo(t).Get(ctx, k); err != nil {
			t.Errorf("dynamo %s: %v", k, err)
		}
	}
	big := reservation.Key{HotelCode: "HTL1", Confirmation: "BIG-1"}
	if _, _, err := pg.Get(ctx, big); !errors.Is(err, postgres.ErrNotFound) {
		t.Errorf("postgres holds the record DynamoDB cannot: %v", err)
	}
	if _, _, err := env.Dynamo(t).Get(ctx, big); !errors.Is(err, dynamo.ErrNotFound) {
		t.Errorf("dynamo: %v, want not found", err)
	}
	letters := env.DeadLetters(t)
	if len(letters) != 1 || letters[0].Position != "1" ||
		!strings.Contains(letters[0].Reason, "dynamo refused the record") || !strings.Contains(letters[0].Reason, "more than DynamoDB's 409600") {
		t.Fatalf("dead letters %+v, want the big booking's, naming DynamoDB's item limit", letters)
	}
	if strings.Contains(letters[0].Reason, "late arrival") {
		t.Error("the reason quotes the message")
	}
}
