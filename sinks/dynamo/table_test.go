package dynamo

import (
	"context"
	"errors"
	"strings"
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
		want := types.ProjectionTypeKeysOnly // every index: see tableDefinition
		if ix.Projection == nil || ix.Projection.ProjectionType != want {
			t.Errorf("index %s projection = %+v, want %s", aws.ToString(ix.IndexName), ix.Projection, want)
		}
	}
	for name, keys := range map[string][]string{
		IndexByGuest:        {"guest_id", "arrival_conf"},
		IndexByHotelArrival: {"hotel_code", "arrival_conf"},
		IndexByConfirmation: {"confirmation", "hotel_code"},
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

// TestEnsureTableOldTable: a table made before by_confirmation existed is
// refused with the command that adds the index; KeysByConfirmation finds
// reservations in every hotel, in hotel order.
func TestEnsureTableOldTable(t *testing.T) {
	t.Parallel()
	c := testClient(t)
	ctx := testContext(t)
	name := testenv.UniqueName("old-table")
	old := tableDefinition(name)
	old.GlobalSecondaryIndexes = old.GlobalSecondaryIndexes[:2]
	old.AttributeDefinitions = old.AttributeDefinitions[:5]
	if _, err := c.CreateTable(ctx, old); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	err := EnsureTable(ctx, c, name)
	var schema *SchemaError
	if !errors.As(err, &schema) || !strings.Contains(err.Error(), "by_confirmation") || !strings.Contains(err.Error(), "update-table") {
		t.Fatalf("EnsureTable on a table without by_confirmation = %v; want a *SchemaError with the fix", err)
	}

	s, _ := newTestSink(t, Options{})
	write(t, s, rec(t, "H2", "SAME", 1, ""), rec(t, "H1", "SAME", 1, ""), rec(t, "H3", "OTHER", 1, ""))
	keys, err := s.KeysByConfirmation(ctx, "SAME", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].HotelCode != "H1" || keys[1].HotelCode != "H2" {
		t.Fatalf("KeysByConfirmation(SAME) = %v; want H1 then H2", keys)
	}
	if keys, _ := s.KeysByConfirmation(ctx, "SAME", 1); len(keys) != 1 {
		t.Fatalf("limit 1 gave %d keys", len(keys))
	}
}
