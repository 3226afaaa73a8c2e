package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DefaultTable is the table name used when none is configured.
const DefaultTable = "reservations"

// Attribute and index names of the table (see the package comment).
const (
	attrPK          = "pk"
	attrSK          = "sk"
	attrVersion     = "version"
	attrArrivalConf = "arrival_conf"
	attrGuestID     = "guest_id"
	attrPIIKey      = "pii_key"
	attrHotel       = "hotel_code"
	attrConf        = "confirmation"
	attrArchiveKey  = "archive_key"
	attrUpdatedAt   = "updated_at"
	// attrLists holds the record's room stays, guests and external ids as
	// one JSON string with the record's own field names (see encodeItem).
	attrLists = "lists"

	// IndexByGuest is keyed by guest_id, sorted by arrival_conf.
	IndexByGuest = "by_guest"
	// IndexByHotelArrival is keyed by hotel_code, sorted by arrival_conf.
	IndexByHotelArrival = "by_hotel_arrival"
	// IndexByConfirmation is keyed by confirmation, sorted by hotel_code,
	// keys only: finding a confirmation number in any hotel (the API's
	// lookup) without a scan.
	IndexByConfirmation = "by_confirmation"
)

// TableAPI is the part of the DynamoDB client EnsureTable uses.
type TableAPI interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
}

// SchemaError reports an existing table whose keys or indexes are not the
// ones this package writes and reads.
type SchemaError struct {
	Table   string
	Problem string
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("dynamo: table %s: %s", e.Table, e.Problem)
}

// pollInterval paces DescribeTable while a table is being created.
const pollInterval = 100 * time.Millisecond

// EnsureTable creates the reservations table (with its indexes, on-demand
// billing) when it does not exist, and waits until the table and its
// indexes are ACTIVE. An existing table is accepted when its key schema
// and indexes match; otherwise a *SchemaError names the difference (a
// table made before by_confirmation existed needs that index added with
// UpdateTable: see the README). It is safe to call concurrently and
// repeatedly; it waits until ctx ends at most.
func EnsureTable(ctx context.Context, api TableAPI, table string) error {
	if table == "" {
		table = DefaultTable
	}
	_, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	var notFound *types.ResourceNotFoundException
	switch {
	case err == nil:
	case errors.As(err, &notFound):
		_, err = api.CreateTable(ctx, tableDefinition(table))
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) { // in use: created concurrently
			return fmt.Errorf("dynamo: create table %s: %w", table, err)
		}
	default:
		return fmt.Errorf("dynamo: describe table %s: %w", table, err)
	}
	desc, err := waitActive(ctx, api, table)
	if err != nil {
		return err
	}
	return checkSchema(table, desc)
}

// tableDefinition is the CreateTable request for the layout in the
// package comment.
func tableDefinition(table string) *dynamodb.CreateTableInput {
	str := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	keys := func(hash, rng string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange},
		}
	}
	// Every index holds keys only: a write then costs DynamoDB one small
	// index entry per index instead of a second and third copy of the whole
	// item, and the readers fetch the items the index names with
	// BatchGetItem (query.go). Tables made with ALL projections still work.
	keysOnly := &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			str(attrPK), str(attrSK), str(attrHotel), str(attrArrivalConf), str(attrGuestID), str(attrConf),
		},
		KeySchema: keys(attrPK, attrSK),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			{IndexName: aws.String(IndexByHotelArrival), KeySchema: keys(attrHotel, attrArrivalConf), Projection: keysOnly},
			{IndexName: aws.String(IndexByGuest), KeySchema: keys(attrGuestID, attrArrivalConf), Projection: keysOnly},
			{IndexName: aws.String(IndexByConfirmation), KeySchema: keys(attrConf, attrHotel), Projection: keysOnly},
		},
	}
}

// waitActive polls until the table and all its indexes are ACTIVE.
func waitActive(ctx context.Context, api TableAPI, table string) (*types.TableDescription, error) {
	for {
		out, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		var notFound *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &notFound) { // not found: creation not visible yet
			return nil, fmt.Errorf("dynamo: describe table %s: %w", table, err)
		}
		if err == nil && active(out.Table) {
			return out.Table, nil
		}
		t := time.NewTimer(pollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("dynamo: waiting for table %s to become active: %w", table, ctx.Err())
		case <-t.C:
		}
	}
}

func active(t *types.TableDescription) bool {
	if t == nil || t.TableStatus != types.TableStatusActive {
		return false
	}
	for _, ix := range t.GlobalSecondaryIndexes {
		if ix.IndexStatus != types.IndexStatusActive {
			return false
		}
	}
	return true
}

// checkSchema verifies that an existing table has the keys and indexes
// the sink relies on; the expected definition is the one we create.
func checkSchema(table string, got *types.TableDescription) error {
	want := tableDefinition(table)
	if !sameKeys(got.KeySchema, want.KeySchema) {
		return &SchemaError{Table: table, Problem: "primary key is not (pk HASH, sk RANGE)"}
	}
	for _, w := range want.GlobalSecondaryIndexes {
		found := false
		for _, g := range got.GlobalSecondaryIndexes {
			if aws.ToString(g.IndexName) == aws.ToString(w.IndexName) {
				found = sameKeys(g.KeySchema, w.KeySchema)
				break
			}
		}
		if !found {
			return &SchemaError{Table: table, Problem: "index " + aws.ToString(w.IndexName) + " missing or keyed differently" + indexHint(w)}
		}
	}
	return nil
}

// indexHint says how to add a missing index to a table made by an older
// version (DynamoDB backfills it online).
func indexHint(ix types.GlobalSecondaryIndex) string {
	if aws.ToString(ix.IndexName) != IndexByConfirmation {
		return ""
	}
	return " (tables made before it existed: aws dynamodb update-table --attribute-definitions AttributeName=confirmation,AttributeType=S" +
		" --global-secondary-index-updates '[{\"Create\":{\"IndexName\":\"by_confirmation\",\"KeySchema\":[{\"AttributeName\":\"confirmation\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"hotel_code\",\"KeyType\":\"RANGE\"}],\"Projection\":{\"ProjectionType\":\"KEYS_ONLY\"}}}]')"
}

func sameKeys(got, want []types.KeySchemaElement) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if aws.ToString(got[i].AttributeName) != aws.ToString(want[i].AttributeName) || got[i].KeyType != want[i].KeyType {
			return false
		}
	}
	return true
}
