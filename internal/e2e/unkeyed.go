package e2e

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/jackc/pgx/v5"
)

// DynamoUnkeyed counts the items of the test's table whose hotel code is
// empty (partition key "HOTEL#"), with a paged Scan. Key resolution must
// keep it at zero.
func DynamoUnkeyed(ctx context.Context, t testing.TB, s *Stores) int {
	t.Helper()
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(s.DynamoTable),
		FilterExpression:          aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "HOTEL#"}},
		Select:                    types.SelectCount,
		ConsistentRead:            aws.Bool(true),
	}
	n := 0
	for {
		out, err := s.DynamoClient(t).Scan(ctx, in)
		if err != nil {
			t.Fatalf("scan dynamodb table: %v", err)
		}
		n += int(out.Count)
		if len(out.LastEvaluatedKey) == 0 {
			return n
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// PostgresUnkeyed counts the rows of the reservation tables of the test's
// database whose hotel code is empty. Key resolution must keep it at zero.
func PostgresUnkeyed(ctx context.Context, t testing.TB, s *Stores) int {
	t.Helper()
	conn, err := pgx.Connect(ctx, s.PostgresURL)
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM reservations WHERE hotel_code = '') +
		(SELECT count(*) FROM reservation_room_stays WHERE hotel_code = '') +
		(SELECT count(*) FROM reservation_guests WHERE hotel_code = '') +
		(SELECT count(*) FROM reservation_external_ids WHERE hotel_code = '')`).Scan(&n); err != nil {
		t.Fatalf("count rows without hotel code: %v", err)
	}
	return n
}
