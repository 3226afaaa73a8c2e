package dynamo

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// testTimeout bounds what one test waits for dynalite.
const testTimeout = time.Minute

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func testClient(t testing.TB) *dynamodb.Client {
	t.Helper()
	c, err := NewClient(testContext(t), testenv.DynamoEndpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testTable creates a fresh table for t, dropped when t ends.
func testTable(t testing.TB, c *dynamodb.Client) string {
	t.Helper()
	name := testenv.UniqueName("reservations")
	if err := EnsureTable(testContext(t), c, name); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			t.Errorf("delete table %s: %v", name, err)
		}
	})
	return name
}

// newTestSink returns a sink on a fresh table with fast retries.
func newTestSink(t testing.TB, opts Options) (*Sink, *dynamodb.Client) {
	t.Helper()
	c := testClient(t)
	opts.Table = testTable(t, c)
	if opts.Backoff == (sinks.Backoff{}) {
		opts.Backoff = sinks.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond}
	}
	s := New(c, opts)
	t.Cleanup(func() { _ = s.Close() })
	return s, c
}

// rec makes a record of hotel/conf whose version is minute past 10:00 on
// 2024-05-01 at stream position pos; Status carries the minute so tests
// can tell which version is stored.
func rec(t testing.TB, hotel, conf string, minute int, pos string) sinks.Record {
	t.Helper()
	r := reservation.Reservation{
		MessageType:  "OTA_HotelResNotifRQ",
		MessageTime:  "2024-05-01T12:00:00Z",
		Action:       reservation.ActionModify,
		Status:       fmt.Sprintf("v%d", minute),
		Confirmation: conf,
		HotelCode:    hotel,
		CreatedAt:    "2024-04-01T09:00:00Z",
		ModifiedAt:   fmt.Sprintf("2024-05-01T10:%02d:00Z", minute),
		Arrival:      "2024-06-01",
		Departure:    "2024-06-03",
	}
	r.Normalize()
	v, err := reservation.VersionOf(&r, pos)
	if err != nil {
		t.Fatal(err)
	}
	return sinks.Record{Reservation: r, Version: v}
}

// write writes recs and fails the test on a batch error.
func write(t testing.TB, s *Sink, recs ...sinks.Record) []sinks.Result {
	t.Helper()
	res, err := s.Write(testContext(t), recs)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if len(res) != len(recs) {
		t.Fatalf("Write returned %d results for %d records", len(res), len(recs))
	}
	return res
}
