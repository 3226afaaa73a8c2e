package dynamo

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/internal/testenv"
)

// BenchmarkItemShape (issue 16) compares dynalite's CPU per conditional
// put of a realistic reservation (three room stays, two guests, three
// ids) as the sink stores it now (its lists packed in one JSON string,
// encodeItem) and as it did before (nested lists of maps, nestedItem), on
// tables of today's layout, alternating, 1,000 puts a round; it reports
// the CPU per 1,000 puts of each (from /proc, so only when
// scripts/dev-services started dynalite), their ratio, and the item sizes
// as AWS counts them (names plus values).
func BenchmarkItemShape(b *testing.B) {
	pid, ok := testenv.ServicePID("dynalite")
	if !ok {
		b.Skip("no .dev/run/dynalite.pid: start the services with scripts/dev-services up")
	}
	c := testClient(b)
	ctx := testContext(b)
	used := map[string]time.Duration{}
	bytes := map[string]int{}
	const n, rounds = 1000, 3
	shapes := []string{"nested", "packed"}
	for range b.N {
		for round := range rounds {
			for _, shape := range shapes {
				name := testTable(b, c)
				before, err := testenv.ProcessCPU(pid)
				if err != nil {
					b.Fatal(err)
				}
				for i := range n {
					rec := realisticRecord(b, round*n+i)
					item, err := encodeItem(&rec, EmailGuestID, time.Now())
					if err != nil {
						b.Fatal(err)
					}
					if shape == "nested" {
						item = nestedItem(b, rec.Reservation, rec.Version.String())
					}
					bytes[shape] += ItemSize(item)
					_, err = c.PutItem(ctx, &dynamodb.PutItemInput{
						TableName: aws.String(name), Item: item, ConditionExpression: aws.String(putCondition),
						ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#v": attrVersion},
						ExpressionAttributeValues: map[string]types.AttributeValue{":v": item[attrVersion]},
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				after, err := testenv.ProcessCPU(pid)
				if err != nil {
					b.Fatal(err)
				}
				used[shape] += after - before
			}
		}
	}
	puts := float64(b.N * rounds * n)
	for _, shape := range shapes {
		b.ReportMetric(used[shape].Seconds()/puts*1000, shape+"-cpu-s/1000puts")
		b.ReportMetric(float64(bytes[shape])/puts, shape+"-bytes/item")
	}
	b.ReportMetric(used["packed"].Seconds()/used["nested"].Seconds(), "packed/nested")
}
