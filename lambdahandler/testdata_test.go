package lambdahandler_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/resingest/resingest/bench/corpus"
)

// update rewrites testdata/kinesis-event.json from the corpus generator:
//
//	go test ./lambdahandler -run TestEventFixture -update
var update = flag.Bool("update", false, "rewrite testdata/kinesis-event.json")

const (
	fixturePath = "testdata/kinesis-event.json"
	// fixtureSeed selects the generated messages of the fixture.
	fixtureSeed = 4
	// fixtureRecords is how many records the fixture has; record
	// fixturePoison is a malformed message carrying a full test card.
	fixtureRecords = 10
	fixturePoison  = 2
	// fixtureShard and fixtureFirstSeq shape the records like those of a
	// real stream's first shard.
	fixtureShard    = "shardId-000000000000"
	fixtureFirstSeq = "49659132518112462930154937467720123040961937563470381058"
	// fixtureCard is the poison record's card number; no store, dead
	// letter or log may hold it.
	fixtureCard = "4111111111111111"
)

// poisonXML is malformed (the HotelReservation element is not closed).
const poisonXML = `<?xml version="1.0" encoding="UTF-8"?>
<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="poison-1" TimeStamp="2026-01-05T06:00:30Z">
  <HotelReservations>
    <HotelReservation CreateDateTime="2026-01-05T06:00:00Z">
      <UniqueID Type="14" ID="POISON1"/>
      <PaymentCard CardCode="VI" CardNumber="` + fixtureCard + `" SeriesCode="123" ExpireDate="1228"/>
  </HotelReservations>
</OTA_HotelResNotifRQ>`

// buildFixture is the Kinesis event AWS would send for the fixture's
// records (the shape of events.KinesisEvent, which is AWS's).
func buildFixture() events.KinesisEvent {
	g := corpus.New(corpus.Options{Seed: fixtureSeed})
	seq, _ := new(big.Int).SetString(fixtureFirstSeq, 10)
	step := big.NewInt(1 << 40) // sequence numbers grow in large, uneven steps
	arrival := time.Date(2026, time.January, 5, 6, 0, 0, 0, time.UTC)
	var ev events.KinesisEvent
	for i := range fixtureRecords {
		data, key := []byte(poisonXML), "POISON1"
		if i != fixturePoison {
			m := g.Next()
			data, key = m.XML, m.Key
		}
		s := seq.String()
		ev.Records = append(ev.Records, events.KinesisEventRecord{
			AwsRegion:         "eu-west-1",
			EventID:           fixtureShard + ":" + s,
			EventName:         "aws:kinesis:record",
			EventSource:       "aws:kinesis",
			EventSourceArn:    "arn:aws:kinesis:eu-west-1:123456789012:stream/reservations",
			EventVersion:      "1.0",
			InvokeIdentityArn: "arn:aws:iam::123456789012:role/resingest-ingest",
			Kinesis: events.KinesisRecord{
				ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: arrival.Add(time.Duration(i) * 1250 * time.Millisecond)},
				Data:                        data,
				PartitionKey:                key,
				SequenceNumber:              s,
				KinesisSchemaVersion:        "1.0",
			},
		})
		seq.Add(seq, step)
		step.Add(step, big.NewInt(int64(7919*(i+1))))
	}
	return ev
}

func marshalFixture(ev events.KinesisEvent) ([]byte, error) {
	b, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// loadFixture reads testdata/kinesis-event.json.
func loadFixture(t testing.TB) events.KinesisEvent {
	t.Helper()
	b, err := os.ReadFile(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.KinesisEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", fixturePath, err)
	}
	if len(ev.Records) != fixtureRecords {
		t.Fatalf("%s has %d records, want %d", fixturePath, len(ev.Records), fixtureRecords)
	}
	return ev
}

// TestEventFixture checks that the committed event is what the generator
// makes (so the expectations of the other tests hold) and that it has the
// fields of a real Kinesis event, data base64-encoded.
func TestEventFixture(t *testing.T) {
	want, err := marshalFixture(buildFixture())
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(filepath.FromSlash(fixturePath), want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go test ./lambdahandler -run TestEventFixture -update", fixturePath)
	}
	var raw struct {
		Records []map[string]any `json:"Records"`
	}
	if err := json.Unmarshal(got, &raw); err != nil {
		t.Fatal(err)
	}
	for i, r := range raw.Records {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			for _, field := range []string{"eventSource", "eventID", "eventSourceARN", "awsRegion", "eventName", "eventVersion", "kinesis"} {
				if _, ok := r[field]; !ok {
					t.Errorf("record lacks %q", field)
				}
			}
			k, _ := r["kinesis"].(map[string]any)
			for _, field := range []string{"kinesisSchemaVersion", "partitionKey", "sequenceNumber", "data", "approximateArrivalTimestamp"} {
				if _, ok := k[field]; !ok {
					t.Errorf("kinesis lacks %q", field)
				}
			}
			if _, ok := k["approximateArrivalTimestamp"].(float64); !ok {
				t.Errorf("approximateArrivalTimestamp is %T, want a number of seconds", k["approximateArrivalTimestamp"])
			}
			if data, _ := k["data"].(string); bytes.Contains([]byte(data), []byte("<")) {
				t.Errorf("data is not base64")
			}
			if r["eventSource"] != "aws:kinesis" || r["eventID"] != fixtureShard+":"+k["sequenceNumber"].(string) {
				t.Errorf("eventSource %v, eventID %v: not those of a Kinesis record", r["eventSource"], r["eventID"])
			}
		})
	}
}
