package dynamo

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/internal/testenv"
)

func TestEnsureTableCreatesAndIsIdempotent(t *testing.T) {
	t.Parallel()
	c := testClient(t)
	ctx := testContext(t)
	name := testTable(t, c) // first call creates

	for range 2 { // later calls accept the existing table
		if err := EnsureTable(ctx, c, name); err != nil {
			t.Fatalf("EnsureTable on existing table: %v", err)
		}
	}
	out, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	tbl := out.Table
	if tbl.TableStatus != types.TableStatusActive {
		t.Errorf("status = %s, want ACTIVE", tbl.TableStatus)
	}
	if tbl.BillingModeSummary == nil || tbl.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode = %+v, want PAY_PER_REQUEST", tbl.BillingModeSummary)
	}
	indexes := map[string][]string{}
	for _, ix := range tbl.GlobalSecondaryIndexes {
		for _, k := range ix.KeySchema {
			indexes[aws.ToString(ix.IndexName)] = append(indexes[aws.ToString(ix.IndexName)], aws.ToString(k.AttributeName))
		}
		if ix.Projection == nil || ix.Projection.ProjectionType != types.ProjectionTypeAll {
			t.Errorf("index %s projection = %+v, want ALL", aws.ToString(ix.IndexName), ix.Projection)
		}
	}
	for name, keys := range map[string][]string{
		IndexByGuest:        {"guest_id", "arrival_conf"},
		IndexByHotelArrival: {"hotel_code", "arrival_conf"},
	} {
		got := indexes[name]
		if len(got) != 2 || got[0] != keys[0] || got[1] != keys[1] {
			t.Errorf("index %s keys = %v, want %v", name, got, keys)
		}
	}
}

func TestEnsureTableRejectsForeignSchema(t *testing.T) {
	t.Parallel()
	c := testClient(t)
	ctx := testContext(t)
	name := testenv.UniqueName("foreign")
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.DeleteTable(testContext(t), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})

	err = EnsureTable(ctx, c, name)
	var schema *SchemaError
	if !errors.As(err, &schema) || schema.Table != name {
		t.Fatalf("EnsureTable on foreign table: err = %v, want *SchemaError for %s", err, name)
	}
}
