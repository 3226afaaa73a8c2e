package dynamo

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// memCursors is a CursorStore in memory.
type memCursors map[string]string

func (m memCursors) LoadCursor(_ context.Context, job string, _ int) (string, bool, error) {
	return m[job], false, nil
}

func (m memCursors) SaveCursor(_ context.Context, job string, _ int, cursor string, _ bool) error {
	m[job] = cursor
	return nil
}

// nestedItem is an item as the sink wrote it before issue 16: the lists
// as nested attributes.
func nestedItem(t testing.TB, r reservation.Reservation, version string) map[string]types.AttributeValue {
	t.Helper()
	r.Normalize()
	item, err := attributevalue.MarshalMapWithOptions(r, jsonTags)
	if err != nil {
		t.Fatal(err)
	}
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	item[attrPK], item[attrSK] = s(partitionKey(r.HotelCode)), s(sortKey(r.Confirmation))
	item[attrVersion], item[attrArrivalConf] = s(version), s(arrivalConf(r.Arrival, r.Confirmation))
	item[attrUpdatedAt], item[attrGuestID] = s(time.Now().UTC().Format(time.RFC3339Nano)), s(EmailGuestID(&r))
	return item
}

// TestItemShapes: items written before the lists were packed (nested
// lists of maps) read back as before, and the guest-data jobs (purge,
// re-encryption) rewrite the guests of both shapes, each in its own shape.
func TestItemShapes(t *testing.T) {
	t.Parallel()
	s, c := newTestSink(t, Options{})
	ctx := testContext(t)
	full := fullRecord(t)
	old := full.Reservation
	old.Confirmation = "OLD-SHAPE"
	old.Normalize()
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table()), Item: nestedItem(t, old, full.Version.String())}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(ctx, []sinks.Record{full}); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Get(ctx, old.Key())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, old) {
		t.Errorf("an item of the nested shape reads back differently:\n got  %+v\n want %+v", got, old)
	}

	upper := func(_ context.Context, g []reservation.Guest) ([]reservation.Guest, []pii.GuestIndex, bool, error) {
		out := make([]reservation.Guest, len(g))
		for i := range g {
			out[i] = g[i]
			out[i].Surname = strings.ToUpper(g[i].Surname)
		}
		return out, nil, true, nil
	}
	st, err := RunGuestJob(ctx, c, s.Table(), memCursors{}, GuestJob{Name: "upper", Rewrite: upper}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rewritten < 2 {
		t.Errorf("rewritten %d items, want both shapes", st.Rewritten)
	}
	for _, k := range []reservation.Key{old.Key(), full.Reservation.Key()} {
		r, _, err := s.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Guests) == 0 || r.Guests[0].Surname != strings.ToUpper(full.Reservation.Guests[0].Surname) || len(r.RoomStays) != len(full.Reservation.RoomStays) {
			t.Errorf("%s after the job: guests %+v, %d room stays", k, r.Guests, len(r.RoomStays))
		}
		raw, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table()), Key: keyOf(k)})
		if err != nil {
			t.Fatal(err)
		}
		_, nested := raw.Item["guests"]
		_, packed := raw.Item[attrLists]
		if nested == packed || (k == old.Key()) != nested {
			t.Errorf("%s changed shape: nested guests %v, packed lists %v", k, nested, packed)
		}
	}
}
