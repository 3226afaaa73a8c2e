package lambdahandler_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/lambdahandler"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/sinks/postgres"
)

// keeping is a Processor with the partition keeper of keep.
type keeping struct {
	*pipeline.Processor
	keep func(ctx context.Context, now time.Time, ahead int) ([]string, error)
}

func (k keeping) EnsurePartitions(ctx context.Context, now time.Time, ahead int) ([]string, error) {
	return k.keep(ctx, now, ahead)
}

// TestHandleKeepsPartitions: a function that is the only consumer of its
// stream creates the month partitions ahead at its first invocation, not
// again within the interval, and an upkeep that fails is logged without
// failing the invocation.
func TestHandleKeepsPartitions(t *testing.T) {
	t.Parallel()
	stores := e2e.Env(t)
	pg := stores.Postgres(t)
	ctx := context.Background()
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	calls := 0
	h := lambdahandler.New(func(context.Context) (lambdahandler.Processor, func(), error) {
		proc, err := postgresProcessor(pg, log)
		return keeping{proc, func(ctx context.Context, now time.Time, ahead int) ([]string, error) {
			calls++
			return pg.EnsurePartitions(ctx, now, ahead)
		}}, func() {}, err
	}, lambdahandler.Options{Logger: log, PartitionUpkeepInterval: time.Hour, PartitionsAhead: 2})
	t.Cleanup(h.Close)
	invoke := func(seq string) {
		t.Helper()
		resp, err := h.Handle(ctx, events.KinesisEvent{Records: []events.KinesisEventRecord{{
			EventID: "shardId-000000000000:" + seq, EventSource: "aws:kinesis",
			Kinesis: events.KinesisRecord{Data: []byte(poisonXML), PartitionKey: "k", SequenceNumber: seq},
		}}})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("Handle: %v, failures %v", err, resp.BatchItemFailures)
		}
	}

	invoke("1")
	conn, err := postgres.ConnectURL(ctx, stores.PostgresURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	parts, err := postgres.MonthPartitions(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range parts {
		names = append(names, p.Name)
	}
	month := time.Now().UTC()
	for i := range 3 {
		for _, table := range []string{"audit", "dead_letters", "pii_access"} {
			want := table + "_" + month.AddDate(0, i, 1-month.Day()).Format("200601")
			if !slices.Contains(names, want) {
				t.Errorf("after the first invocation: no partition %s (have %v)", want, names)
			}
		}
	}
	invoke("2")
	if calls != 1 {
		t.Errorf("upkeep ran %d times in two invocations within the interval, want 1", calls)
	}

	// A failing upkeep: the invocation still succeeds, the failure is logged.
	h2 := lambdahandler.New(func(ctx context.Context) (lambdahandler.Processor, func(), error) {
		return keeping{nil, func(context.Context, time.Time, int) ([]string, error) {
			calls++
			return nil, errors.New("permission denied for schema public")
		}}, func() {}, nil
	}, lambdahandler.Options{Logger: log, PartitionUpkeepInterval: time.Hour, PartitionsAhead: 2})
	t.Cleanup(h2.Close)
	resp, err := h2.Handle(ctx, events.KinesisEvent{})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle with a failing upkeep: %v, %v", err, resp.BatchItemFailures)
	}
	if !strings.Contains(logs.String(), "partition upkeep failed") || !strings.Contains(logs.String(), "permission denied") {
		t.Errorf("the failing upkeep was not logged:\n%s", logs.String())
	}
}
