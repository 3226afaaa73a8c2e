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

// BenchmarkIndexProjection writes the same realistic reservations (three
// room stays, two guests, three ids) into a table whose by_hotel_arrival
// and by_guest indexes project ALL attributes (before issue 16) and into
// one whose indexes hold keys only (now), alternating, and reports the
// CPU time dynalite spent per 1,000 writes for each (from /proc, so only
// when scripts/dev-services started dynalite) and their ratio. Writes
// through one sink, 500 a batch.
func BenchmarkIndexProjection(b *testing.B) {
	pid, ok := testenv.ServicePID("dynalite")
	if !ok {
		b.Skip("no .dev/run/dynalite.pid: start the services with scripts/dev-services up")
	}
	procCPU := func(b *testing.B, pid int) time.Duration {
		d, err := testenv.ProcessCPU(pid)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	const perRound, rounds = 2000, 3
	c := testClient(b)
	ctx := testContext(b)
	used := map[string]time.Duration{}
	for range b.N {
		for round := 0; round < rounds; round++ {
			for _, projection := range []types.ProjectionType{types.ProjectionTypeAll, types.ProjectionTypeKeysOnly} {
				name := testenv.UniqueName("projection")
				def := tableDefinition(name)
				for i := range def.GlobalSecondaryIndexes {
					if aws.ToString(def.GlobalSecondaryIndexes[i].IndexName) != IndexByConfirmation {
						def.GlobalSecondaryIndexes[i].Projection = &types.Projection{ProjectionType: projection}
					}
				}
				if _, err := c.CreateTable(ctx, def); err != nil {
					b.Fatal(err)
				}
				if _, err := waitActive(ctx, c, name); err != nil {
					b.Fatal(err)
				}
				s := New(c, Options{Table: name})
				before := procCPU(b, pid)
				for start := 0; start < perRound; start += 500 {
					var recs []sinks.Record
					for i := start; i < start+500; i++ {
						recs = append(recs, realisticRecord(b, i))
					}
					res, err := s.Write(ctx, recs)
					if err != nil {
						b.Fatal(err)
					}
					for _, r := range res {
						if r.Outcome != sinks.Stored {
							b.Fatalf("outcome %v: %v", r.Outcome, r.Err)
						}
					}
				}
				used[string(projection)] += procCPU(b, pid) - before
				_, _ = c.DeleteTable(context.WithoutCancel(ctx), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
			}
		}
	}
	writes := float64(b.N * rounds * perRound)
	all := used[string(types.ProjectionTypeAll)].Seconds() / writes * 1000
	keys := used[string(types.ProjectionTypeKeysOnly)].Seconds() / writes * 1000
	b.ReportMetric(all, "ALL-dynalite-cpu-s/1000writes")
	b.ReportMetric(keys, "KEYS_ONLY-dynalite-cpu-s/1000writes")
	b.ReportMetric(keys/all, "KEYS_ONLY/ALL")
}

// realisticRecord is reservation i with three room stays, two guests and
// three ids, like the generated corpus's larger messages.
func realisticRecord(t testing.TB, i int) sinks.Record {
	t.Helper()
	conf := fmt.Sprintf("P%08d", i)
	r := reservation.Reservation{
		MessageType: "OTA_HotelResNotifRQ", MessageID: "urn:uuid:" + conf, MessageTime: "2024-05-01T12:00:00Z",
		Action: reservation.ActionCreate, Status: "Book", Confirmation: conf, HotelCode: fmt.Sprintf("H%03d", i%50),
		ChainCode: "RC", CreatedAt: "2024-04-01T09:00:00Z", ModifiedAt: "2024-05-01T10:00:00Z",
		Arrival: "2024-06-01", Departure: "2024-06-05", Adults: 3, Children: 1,
		TotalAfterTax: "1450.60", TotalBeforeTax: "1297.00", Currency: "USD",
		Payment: reservation.Payment{CardCode: "VI", Last4: "1111", Expire: "1227"},
	}
	for k := 0; k < 3; k++ {
		r.RoomStays = append(r.RoomStays, reservation.RoomStay{RoomType: "KING", RatePlan: "BAR", Units: 1,
			Arrival: "2024-06-01", Departure: "2024-06-05", Adults: 2, Children: 1,
			TotalAfterTax: "450.50", TotalBeforeTax: "400.00", Currency: "USD"})
	}
	r.Guests = []reservation.Guest{
		{Primary: true, GivenName: "Ann", Surname: "Zed", Email: fmt.Sprintf("guest%d@example.com", i), Phone: "+1 555 0100",
			LoyaltyProgram: "RC", LoyaltyNumber: "123456789", City: "Austin", PostalCode: "78701", Country: "US"},
		{GivenName: "Bo", Surname: "Aaron", Email: "bo@example.com", Country: "CA"},
	}
	r.ExternalIDs = []reservation.ExternalID{{Type: "14", Value: conf, Source: "PMS"}, {Type: "10", Value: "ITIN-" + conf, Source: "CRS"}, {Type: "16", Value: "X" + conf}}
	r.Normalize()
	v, err := reservation.VersionOf(&r, "")
	if err != nil {
		t.Fatal(err)
	}
	return sinks.Record{Reservation: r, Version: v}
}
