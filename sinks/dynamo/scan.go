package dynamo

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"golang.org/x/sync/errgroup"
)

// Scanner is the part of the DynamoDB client ScanVersions uses;
// *dynamodb.Client implements it.
type Scanner interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// scanSegments is how many parallel Scan segments read the table.
const scanSegments = 4

// ScanVersions reads the key and version of every item of table (a
// parallel Scan of only those attributes) and calls fn with each, one call
// at a time. For checks of a whole table, such as the backfill's verify.
func ScanVersions(ctx context.Context, c Scanner, table string, fn func(hotel, confirmation, version string)) error {
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	for seg := range int32(scanSegments) {
		g.Go(func() error {
			in := &dynamodb.ScanInput{
				TableName: aws.String(table), Segment: aws.Int32(seg), TotalSegments: aws.Int32(scanSegments),
				ProjectionExpression:     aws.String("#h, #c, #v"),
				ExpressionAttributeNames: map[string]string{"#h": attrHotel, "#c": attrConf, "#v": attrVersion},
			}
			p := dynamodb.NewScanPaginator(c, in)
			for p.HasMorePages() {
				page, err := p.NextPage(gctx)
				if err != nil {
					return fmt.Errorf("dynamo: scan %s: %w", table, err)
				}
				mu.Lock()
				for _, it := range page.Items {
					fn(stringAttr(it, attrHotel), stringAttr(it, attrConf), stringAttr(it, attrVersion))
				}
				mu.Unlock()
			}
			return nil
		})
	}
	return g.Wait()
}
