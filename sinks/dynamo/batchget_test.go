package dynamo

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// guestStays writes n stays of one guest at hotel, arriving on successive
// days from 2024-01-01, and returns their confirmations in arrival order.
func guestStays(t *testing.T, s *Sink, hotel string, n int) []string {
	t.Helper()
	var recs []sinks.Record
	var confs []string
	for i := 0; i < n; i++ {
		conf := fmt.Sprintf("C%04d", i)
		r := rec(t, hotel, conf, 1, "")
		r.Reservation.Arrival = time.Date(2024, 1, 1+i, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
		r.Reservation.Guests = []reservation.Guest{{Primary: true, GivenName: "Many", Email: "many@example.com"}}
		recs = append(recs, r)
		confs = append(confs, conf)
	}
	for _, r := range write(t, s, recs...) {
		if r.Outcome != sinks.Stored {
			t.Fatalf("setup write: %v %v", r.Outcome, r.Err)
		}
	}
	return confs
}

func confirmations(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Reservation.Confirmation)
	}
	return out
}

// TestIndexesAreKeysOnly: the by_guest and by_hotel_arrival indexes hold
// keys only, and the readers still return whole items in index order,
// across BatchGetItem's 100-key limit.
func TestIndexesAreKeysOnly(t *testing.T) {
	t.Parallel()
	s, c := newTestSink(t, Options{})
	ctx := testContext(t)
	out, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.opts.Table)})
	if err != nil {
		t.Fatal(err)
	}
	for _, ix := range out.Table.GlobalSecondaryIndexes {
		if ix.Projection == nil || ix.Projection.ProjectionType != types.ProjectionTypeKeysOnly {
			t.Errorf("index %s projects %v, want KEYS_ONLY", aws.ToString(ix.IndexName), ix.Projection)
		}
	}
	want := guestStays(t, s, "H700", 230)
	items, err := s.QueryGuest(ctx, "many@example.com", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := confirmations(items); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("QueryGuest gave %d stays %v..., want %d in arrival order", len(got), got[:min(5, len(got))], len(want))
	}
	if items[17].Reservation.Guests[0].GivenName != "Many" || items[17].Version == "" {
		t.Errorf("an item read through the index is not whole: %+v", items[17])
	}
	page, err := s.QueryArrivals(ctx, "H700", "2024-01-18", 10, "")
	if err != nil || len(page.Items) != 1 || page.Items[0].Reservation.Confirmation != "C0017" {
		t.Fatalf("QueryArrivals: %+v, %v", page, err)
	}
}

// TestIndexesProjectingAllStillRead: a table made before the indexes were
// keys only (ALL projections) is read as before, from the index entries.
func TestIndexesProjectingAllStillRead(t *testing.T) {
	t.Parallel()
	c := testClient(t)
	ctx := testContext(t)
	name := testenv.UniqueName("reservations-all")
	def := tableDefinition(name)
	for i := range def.GlobalSecondaryIndexes {
		if aws.ToString(def.GlobalSecondaryIndexes[i].IndexName) != IndexByConfirmation {
			def.GlobalSecondaryIndexes[i].Projection = &types.Projection{ProjectionType: types.ProjectionTypeAll}
		}
	}
	if _, err := c.CreateTable(ctx, def); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}) })
	if _, err := waitActive(ctx, c, name); err != nil {
		t.Fatal(err)
	}
	if err := EnsureTable(ctx, c, name); err != nil {
		t.Fatalf("EnsureTable refuses a table with ALL projections: %v", err)
	}
	s := New(c, Options{Table: name})
	want := guestStays(t, s, "H701", 3)
	items, err := s.QueryGuest(ctx, "many@example.com", "", "")
	if err != nil || fmt.Sprint(confirmations(items)) != fmt.Sprint(want) {
		t.Fatalf("QueryGuest on an ALL table: %v, %v; want %v", confirmations(items), err, want)
	}
}

// stingyReader is the real client, but every other BatchGetItem answers
// only half the keys and returns the rest as unprocessed, as a table short
// of read capacity does (dynalite never does).
type stingyReader struct {
	*dynamodb.Client
	calls, held int
}

func (s *stingyReader) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	s.calls++
	if s.calls%2 == 0 {
		return s.Client.BatchGetItem(ctx, in, opts...)
	}
	part, left := map[string]types.KeysAndAttributes{}, map[string]types.KeysAndAttributes{}
	for table, ka := range in.RequestItems {
		keep := len(ka.Keys) / 2
		part[table] = types.KeysAndAttributes{Keys: ka.Keys[:keep]}
		left[table] = types.KeysAndAttributes{Keys: ka.Keys[keep:]}
		s.held += len(ka.Keys) - keep
	}
	out, err := s.Client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: part}, opts...)
	if err != nil {
		return nil, err
	}
	out.UnprocessedKeys = left
	return out, nil
}

// TestUnprocessedKeysAskedAgain: keys a BatchGetItem leaves unprocessed are
// asked again, so the reader still returns every stay, in order.
func TestUnprocessedKeysAskedAgain(t *testing.T) {
	t.Parallel()
	s, c := newTestSink(t, Options{})
	want := guestStays(t, s, "H702", 150)
	stingy := &stingyReader{Client: c}
	reader := New(stingy, Options{Table: s.opts.Table, Backoff: sinks.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}})
	items, err := reader.QueryGuest(testContext(t), "many@example.com", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if stingy.held == 0 {
		t.Fatal("no key was held back; the test proves nothing")
	}
	if got := confirmations(items); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("with unprocessed keys: %d stays, want %d in order", len(got), len(want))
	}
}
