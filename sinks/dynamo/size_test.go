package dynamo

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

func TestItemSize(t *testing.T) {
	t.Parallel()
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	for _, tt := range []struct {
		name string
		item map[string]types.AttributeValue
		want int
	}{
		{"string", map[string]types.AttributeValue{"ab": s("xyz")}, 5},
		{"UTF-8 bytes", map[string]types.AttributeValue{"a": s("é")}, 3},
		{"number: 2 significant digits a byte, plus 1", map[string]types.AttributeValue{"n": n("123.45")}, 1 + 4},
		{"number: zeros are not significant", map[string]types.AttributeValue{"n": n("1000")}, 1 + 2},
		{"bool", map[string]types.AttributeValue{"b": &types.AttributeValueMemberBOOL{Value: true}}, 2},
		{"list", map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("ab"), s("c")}}}, 1 + 3 + 3 + 2},
		{"map", map[string]types.AttributeValue{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": s("v")}}}, 1 + 3 + 1 + 1 + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ItemSize(tt.item); got != tt.want {
				t.Errorf("ItemSize = %d, want %d", got, tt.want)
			}
			if bound := itemSize(tt.item, false); bound < tt.want {
				t.Errorf("the upper bound %d is below the size %d", bound, tt.want)
			}
		})
	}
}

// TestItemTooLarge: a record whose item would pass DynamoDB's 400 KB is
// refused by Check, and by Write without a call to DynamoDB, permanently
// and without quoting a value; one just under the limit is stored.
func TestItemTooLarge(t *testing.T) {
	t.Parallel()
	sink, _ := newTestSink(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	withRequest := func(conf string, n int) sinks.Record {
		rec := fullRecord(t)
		rec.Reservation.Confirmation = conf
		rec.Reservation.SpecialRequests = []reservation.SpecialRequest{{Text: strings.Repeat("q", n)}}
		return rec
	}
	big, fits := withRequest("BIG", 410_000), withRequest("FITS", 380_000)
	var tooLarge *ItemTooLargeError
	if err := sink.Check(&big); !errors.As(err, &tooLarge) || tooLarge.Bytes <= MaxItemBytes || tooLarge.Key.Confirmation != "BIG" {
		t.Fatalf("Check(big) = %v, want an ItemTooLargeError", err)
	}
	if err := sink.Check(&fits); err != nil {
		t.Fatalf("Check(fits) = %v", err)
	}
	before := sink.Stats().Attempts
	res, err := sink.Write(ctx, []sinks.Record{big, fits})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != sinks.Failed || !errors.As(res[0].Err, &tooLarge) || sinks.IsRetryable(res[0].Err) || strings.Contains(res[0].Err.Error(), "qqq") {
		t.Errorf("big record: %v %v, want a permanent ItemTooLargeError without the value", res[0].Outcome, res[0].Err)
	}
	if res[1].Outcome != sinks.Stored {
		t.Errorf("record under the limit: %v %v", res[1].Outcome, res[1].Err)
	}
	if calls := sink.Stats().Attempts - before; calls != 1 {
		t.Errorf("%d PutItem calls, want 1 (none for the big record)", calls)
	}
}

// TestItemBound: the cheap bound Check relies on is never below the
// item's size, on the test records, records with long or escaped text,
// and 2,000 generated bookings (sealed guests are longer strings, which
// the bound counts as they are).
func TestItemBound(t *testing.T) {
	t.Parallel()
	recs := []sinks.Record{fullRecord(t)}
	for _, text := range []string{strings.Repeat("\x01", 1000), strings.Repeat("\"", 5000), strings.Repeat("é", 3000)} {
		rec := fullRecord(t)
		rec.Reservation.SpecialRequests = []reservation.SpecialRequest{{Code: text, Text: text}}
		rec.Reservation.Guests[0].Surname = text
		recs = append(recs, rec)
	}
	p, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := corpus.New(corpus.Options{Seed: 11})
	for len(recs) < 2000 {
		rs, err := p.Parse(g.Next().XML)
		if err != nil {
			continue
		}
		for _, r := range rs {
			if r.HotelCode == "" {
				continue
			}
			v, err := reservation.VersionOf(&r, "1234567")
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, sinks.Record{Reservation: r, Version: v, ArchiveKey: "dt=2026-01-05/hotel=" + r.HotelCode + "/x.xml.gz"})
		}
	}
	now := time.Now()
	for i := range recs {
		item, err := encodeItem(&recs[i], EmailGuestID, now)
		if err != nil {
			t.Fatal(err)
		}
		if size, bound := ItemSize(item), itemBound(&recs[i]); bound < size {
			t.Fatalf("record %d (%s): bound %d below the item's %d bytes", i, recs[i].Reservation.Key(), bound, size)
		}
	}
}

// BenchmarkCheck: Check on a realistic record, which the pipeline runs on
// every record before writing (the cheap bound), against measuring the
// encoded item exactly.
func BenchmarkCheck(b *testing.B) {
	s := New(nil, Options{Table: "bench"})
	rec := fullRecord(&testing.T{})
	b.Run("bound", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Check(&rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			item, err := encodeItem(&rec, EmailGuestID, time.Now())
			if err != nil || ItemSize(item) > MaxItemBytes {
				b.Fatal(err)
			}
		}
	})
}
