package lease

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/internal/awsclient"
	"github.com/resingest/resingest/internal/storeerr"
)

// API is the part of the DynamoDB client the lease table uses.
type API interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Table is a lease table. Safe for concurrent use.
type Table struct {
	api  API
	name string
}

// NewTable returns the lease table name reached through api.
func NewTable(api API, name string) *Table { return &Table{api: api, name: name} }

// Name is the table's name.
func (t *Table) Name() string { return t.name }

// Ensure creates the table (hash key leaseKey, on-demand billing) when it
// is missing and waits until it is ACTIVE. Safe to call concurrently.
func (t *Table) Ensure(ctx context.Context) error {
	_, err := t.api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.name)})
	var notFound *types.ResourceNotFoundException
	switch {
	case err == nil:
	case errors.As(err, &notFound):
		_, err = t.api.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:   aws.String(t.name),
			BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: aws.String(attrKey), AttributeType: types.ScalarAttributeTypeS},
			},
			KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(attrKey), KeyType: types.KeyTypeHash}},
		})
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) { // in use: another worker created it
			return fmt.Errorf("lease: create table %s: %w", t.name, t.classify(ctx, err))
		}
	default:
		return fmt.Errorf("lease: describe table %s: %w", t.name, t.classify(ctx, err))
	}
	for {
		out, err := t.api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.name)})
		if err != nil && !errors.As(err, &notFound) {
			return fmt.Errorf("lease: describe table %s: %w", t.name, t.classify(ctx, err))
		}
		if err == nil && out.Table != nil && out.Table.TableStatus == types.TableStatusActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lease: waiting for table %s: %w", t.name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Create adds a lease with no owner when none exists for l.Key. It
// reports whether it created it (false: it already existed).
func (t *Table) Create(ctx context.Context, l Lease) (bool, error) {
	item := map[string]types.AttributeValue{
		attrKey: s(l.Key), attrCounter: n(0), attrCheckpoint: s(l.Checkpoint),
		attrSubSequence: n(0), attrOwnerSwitches: n(0),
	}
	if len(l.ParentShardIDs) > 0 {
		item[attrParents] = &types.AttributeValueMemberSS{Value: l.ParentShardIDs}
	}
	_, err := t.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.name), Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(#k)"),
		ExpressionAttributeNames: map[string]string{"#k": attrKey},
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &failed):
		return false, nil
	}
	return false, fmt.Errorf("lease: create %s: %w", l.Key, t.classify(ctx, err))
}

// Get reads one lease (strongly consistent); ErrNotFound when missing.
func (t *Table) Get(ctx context.Context, key string) (Lease, error) {
	out, err := t.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.name), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{attrKey: s(key)},
	})
	if err != nil {
		return Lease{}, fmt.Errorf("lease: get %s: %w", key, t.classify(ctx, err))
	}
	if out.Item == nil {
		return Lease{}, fmt.Errorf("lease %s: %w", key, ErrNotFound)
	}
	return decode(out.Item)
}

// List reads every lease (strongly consistent scan).
func (t *Table) List(ctx context.Context) ([]Lease, error) {
	var out []Lease
	var start map[string]types.AttributeValue
	for {
		page, err := t.api.Scan(ctx, &dynamodb.ScanInput{
			TableName: aws.String(t.name), ConsistentRead: aws.Bool(true), ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, fmt.Errorf("lease: scan %s: %w", t.name, t.classify(ctx, err))
		}
		for _, item := range page.Items {
			l, err := decode(item)
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}

// classify marks transient failures storeerr.Retryable; others stay as they are.
func (t *Table) classify(ctx context.Context, err error) error {
	var throttled *types.ProvisionedThroughputExceededException
	var limit *types.RequestLimitExceeded
	if errors.As(err, &throttled) || errors.As(err, &limit) || awsclient.TransientTransport(ctx, err) {
		return storeerr.Retryable(err)
	}
	return err
}
