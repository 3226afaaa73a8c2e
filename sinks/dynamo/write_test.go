package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// fullRecord has every field of the canonical record set.
func fullRecord(t *testing.T) sinks.Record {
	r := reservation.Reservation{
		MessageType: "OTA_HotelResNotifRQ", MessageID: "urn:uuid:1234", MessageTime: "2024-05-01T12:00:00Z",
		Action: reservation.ActionCreate, Status: "Commit", Confirmation: "CONF-1", HotelCode: "H100", ChainCode: "CH",
		CreatedAt: "2024-04-01T09:00:00Z", ModifiedAt: "2024-04-02T09:30:00.5Z", Arrival: "2024-06-01", Departure: "2024-06-05",
		RoomStays: []reservation.RoomStay{
			{RoomType: "KING", RatePlan: "BAR", Units: 1, Arrival: "2024-06-01", Departure: "2024-06-05", Adults: 2, Children: 1,
				TotalAfterTax: "440.00", TotalBeforeTax: "400.00", Currency: "EUR"},
			{RoomType: "TWIN", RatePlan: "PKG", Units: 2, Arrival: "2024-06-02", Departure: "2024-06-04", Adults: 1,
				TotalAfterTax: "0", Currency: "EUR"},
		},
		Adults: 3, Children: 1,
		Guests: []reservation.Guest{
			{Primary: true, GivenName: "Ada", Surname: "Lovelace", Email: " Ada@Example.COM ", Phone: "+44 1",
				LoyaltyProgram: "GOLD", LoyaltyNumber: "L123", City: "London", PostalCode: "W1", Country: "GB"},
			{GivenName: "Charles", Surname: "Babbage"},
		},
		TotalAfterTax: "440.00", TotalBeforeTax: "400.00", Currency: "EUR",
		ExternalIDs:     []reservation.ExternalID{{Type: "14", Value: "CONF-1", Source: "PMS"}, {Type: "10", Value: "X", Source: ""}},
		Payment:         reservation.Payment{CardCode: "VI", Last4: "1111", Expire: "1226"},
		SpecialRequests: []reservation.SpecialRequest{{Code: "CRIB", Text: "Crib in room"}, {Name: "extra bed", Text: "Yes"}},
	}
	v, err := reservation.VersionOf(&r, "42")
	if err != nil {
		t.Fatal(err)
	}
	return sinks.Record{Reservation: r, Version: v, ArchiveKey: "2024/05/01/H100/abc.xml.gz"}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	s, c := newTestSink(t, Options{})
	ctx := testContext(t)

	tests := []struct {
		name string
		rec  sinks.Record
	}{
		{"every field set", fullRecord(t)},
		{"empty lists and strings", rec(t, "H100", "EMPTY", 1, "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := write(t, s, tt.rec)
			if res[0].Outcome != sinks.Stored {
				t.Fatalf("outcome = %v (%v), want stored", res[0].Outcome, res[0].Err)
			}
			got, version, err := s.Get(ctx, tt.rec.Reservation.Key())
			if err != nil {
				t.Fatal(err)
			}
			want := tt.rec.Reservation
			want.Normalize()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip differs:\n got  %+v\n want %+v", got, want)
			}
			if version != tt.rec.Version.String() {
				t.Errorf("version = %q, want %q", version, tt.rec.Version.String())
			}
		})
	}

	t.Run("item layout", func(t *testing.T) {
		full := fullRecord(t)
		out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table()), Key: keyOf(full.Reservation.Key())})
		if err != nil || out.Item == nil {
			t.Fatalf("raw GetItem: item %v err %v", out.Item, err)
		}
		for name, want := range map[string]string{
			"pk": "HOTEL#H100", "sk": "RES#CONF-1", "hotel_code": "H100", "confirmation": "CONF-1",
			"arrival_conf": "2024-06-01#CONF-1", "guest_id": "ada@example.com",
			"archive_key": full.ArchiveKey, "version": full.Version.String(), "message_id": "urn:uuid:1234",
		} {
			if got := stringAttr(out.Item, name); got != want {
				t.Errorf("attribute %s = %q, want %q", name, got, want)
			}
		}
		if _, err := time.Parse(time.RFC3339Nano, stringAttr(out.Item, "updated_at")); err != nil {
			t.Errorf("updated_at: %v", err)
		}
		// The lists are one JSON string under the contract's names.
		lists, ok := out.Item["lists"].(*types.AttributeValueMemberS)
		if !ok {
			t.Fatalf("lists is %T, want a string", out.Item["lists"])
		}
		var packed map[string][]map[string]any
		if err := json.Unmarshal([]byte(lists.Value), &packed); err != nil {
			t.Fatal(err)
		}
		if len(packed["room_stays"]) != len(full.Reservation.RoomStays) || len(packed["guests"]) != len(full.Reservation.Guests) ||
			packed["room_stays"][0]["room_type"] != full.Reservation.RoomStays[0].RoomType {
			t.Errorf("lists = %s", lists.Value)
		}
		for _, nested := range []string{"room_stays", "guests", "external_ids"} {
			if _, ok := out.Item[nested]; ok {
				t.Errorf("the item also has a nested %s attribute", nested)
			}
		}
		empty, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table()), Key: keyOf(reservation.Key{HotelCode: "H100", Confirmation: "EMPTY"})})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := empty.Item["guest_id"]; ok {
			t.Error("a reservation without guests has a guest_id; index keys may not be empty")
		}
	})

	t.Run("missing key", func(t *testing.T) {
		_, _, err := s.Get(ctx, reservation.Key{HotelCode: "H100", Confirmation: "NOPE"})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Get of a missing key: err = %v, want ErrNotFound", err)
		}
	})
}

// TestVersionGuard writes batches in order and checks each outcome and the
// version left stored. Versions are minutes (see rec); "/p" adds a stream
// position so equal times still order.
func TestVersionGuard(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t, Options{})
	ctx := testContext(t)

	type v struct {
		minute int
		pos    string
	}
	tests := []struct {
		name    string
		batches [][]v
		want    [][]sinks.Outcome
		stored  v
	}{
		{"newer applies", [][]v{{{1, ""}}, {{2, ""}}},
			[][]sinks.Outcome{{sinks.Stored}, {sinks.Stored}}, v{2, ""}},
		{"older is stale", [][]v{{{2, ""}}, {{1, ""}}},
			[][]sinks.Outcome{{sinks.Stored}, {sinks.Stale}}, v{2, ""}},
		{"equal is duplicate", [][]v{{{1, "7"}}, {{1, "7"}}},
			[][]sinks.Outcome{{sinks.Stored}, {sinks.Duplicate}}, v{1, "7"}},
		{"position breaks a tie", [][]v{{{1, "8"}}, {{1, "7"}}, {{1, "9"}}},
			[][]sinks.Outcome{{sinks.Stored}, {sinks.Stale}, {sinks.Stored}}, v{1, "9"}},
		{"out of order leaves newest", [][]v{{{3, ""}}, {{1, ""}}, {{2, ""}}},
			[][]sinks.Outcome{{sinks.Stored}, {sinks.Stale}, {sinks.Stale}}, v{3, ""}},
		{"same key twice in one batch", [][]v{{{1, ""}, {2, ""}}},
			[][]sinks.Outcome{{sinks.Stale, sinks.Stored}}, v{2, ""}},
		{"same version twice in one batch", [][]v{{{2, ""}, {2, ""}, {1, ""}}},
			[][]sinks.Outcome{{sinks.Stored, sinks.Duplicate, sinks.Stale}}, v{2, ""}},
		{"batch older than stored", [][]v{{{5, ""}}, {{3, ""}, {5, ""}, {4, ""}}},
			[][]sinks.Outcome{{sinks.Stored}, {sinks.Stale, sinks.Duplicate, sinks.Stale}}, v{5, ""}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := "GUARD-" + string(rune('A'+i))
			for b, batch := range tt.batches {
				var recs []sinks.Record
				for _, ver := range batch {
					recs = append(recs, rec(t, "H200", conf, ver.minute, ver.pos))
				}
				res := write(t, s, recs...)
				for j, r := range res {
					if r.Outcome != tt.want[b][j] {
						t.Errorf("batch %d record %d: outcome = %v (err %v), want %v", b, j, r.Outcome, r.Err, tt.want[b][j])
					}
				}
			}
			want := rec(t, "H200", conf, tt.stored.minute, tt.stored.pos)
			got, version, err := s.Get(ctx, want.Reservation.Key())
			if err != nil {
				t.Fatal(err)
			}
			if version != want.Version.String() || got.Status != want.Reservation.Status {
				t.Errorf("stored version %q status %q, want %q %q", version, got.Status, want.Version.String(), want.Reservation.Status)
			}
		})
	}
}

func TestWritePermanentFailures(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t, Options{})

	invalid := rec(t, "H300", "", 1, "") // no confirmation
	huge := rec(t, "H300", "HUGE", 1, "")
	huge.Reservation.ExternalIDs = []reservation.ExternalID{{Value: strings.Repeat("x", 500<<10)}} // over 400 KB
	good := rec(t, "H300", "GOOD", 1, "")

	res := write(t, s, invalid, huge, good)
	for i, name := range []string{"invalid", "too large"} {
		if res[i].Outcome != sinks.Failed || res[i].Err == nil || sinks.IsRetryable(res[i].Err) {
			t.Errorf("%s record: outcome %v err %v, want a permanent failure", name, res[i].Outcome, res[i].Err)
		}
	}
	if !errors.Is(res[0].Err, reservation.ErrInvalid) {
		t.Errorf("invalid record: err = %v, want reservation.ErrInvalid", res[0].Err)
	}
	if res[2].Outcome != sinks.Stored {
		t.Errorf("good record beside failures: outcome %v (%v), want stored", res[2].Outcome, res[2].Err)
	}
	if st := s.Stats(); st.Retries != 0 || st.Failed != 2 || st.Stored != 1 {
		t.Errorf("stats = %+v, want 0 retries, 2 failed, 1 stored", st)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t, Options{})
	for range 2 {
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	res, err := s.Write(context.Background(), []sinks.Record{rec(t, "H400", "C", 1, "")})
	if !errors.Is(err, ErrClosed) || res[0].Outcome != sinks.Failed || !errors.Is(res[0].Err, ErrClosed) {
		t.Errorf("Write after Close: err %v, result %+v; want ErrClosed", err, res[0])
	}
}

// TestWriteMissingTableFailsTheBatch: a missing table is nobody's record's
// fault; Write fails as a whole (ErrStoreUnavailable, not retryable)
// instead of failing each record for good, which would dead-letter them.
func TestWriteMissingTableFailsTheBatch(t *testing.T) {
	t.Parallel()
	s := New(testClient(t), Options{Table: testenv.UniqueName("no-such-table")})
	defer s.Close()
	res, err := s.Write(testContext(t), []sinks.Record{rec(t, "H301", "A", 1, ""), rec(t, "H301", "B", 1, "")})
	if !errors.Is(err, ErrStoreUnavailable) || sinks.IsRetryable(err) {
		t.Fatalf("Write to a missing table = %v; want ErrStoreUnavailable, not retryable", err)
	}
	if len(res) != 0 {
		t.Fatalf("Write returned %d results: no record must be failed for good", len(res))
	}
	if !strings.Contains(err.Error(), "table") {
		t.Fatalf("error %q does not name the table", err)
	}
}
