package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// batchGetMax is BatchGetItem's limit of keys per request.
const batchGetMax = 100

// itemsOf returns the items an index query found, in the index's order.
// The indexes project keys only (table.go), so the items are read with
// BatchGetItem; an item an index entry names but the table no longer has
// is left out. Entries of an index that projects every attribute (tables
// made before the indexes were keys only) are decoded as they are.
func (s *Sink) itemsOf(ctx context.Context, entries []map[string]types.AttributeValue) ([]Item, error) {
	if len(entries) == 0 {
		return []Item{}, nil
	}
	if _, whole := entries[0][attrVersion]; whole {
		return decodeItems(entries)
	}
	found := make(map[string]map[string]types.AttributeValue, len(entries))
	for start := 0; start < len(entries); start += batchGetMax {
		keys := make([]map[string]types.AttributeValue, 0, batchGetMax)
		for _, e := range entries[start:min(start+batchGetMax, len(entries))] {
			keys = append(keys, map[string]types.AttributeValue{attrPK: e[attrPK], attrSK: e[attrSK]})
		}
		if err := s.batchGet(ctx, keys, found); err != nil {
			return nil, err
		}
	}
	items := make([]Item, 0, len(entries))
	for _, e := range entries {
		av, ok := found[itemKey(e)]
		if !ok {
			continue
		}
		it, err := decodeItem(av)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

// batchGet reads keys (at most batchGetMax) into found, by itemKey. Each
// request has the attempt deadline; the keys DynamoDB leaves unprocessed
// (capacity) are asked again after the sink's capped, jittered backoff, at
// most MaxBatchAttempts times in all.
func (s *Sink) batchGet(ctx context.Context, keys []map[string]types.AttributeValue, found map[string]map[string]types.AttributeValue) error {
	pending := map[string]types.KeysAndAttributes{s.opts.Table: {Keys: keys}}
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, s.opts.AttemptTimeout)
		out, err := s.api.BatchGetItem(actx, &dynamodb.BatchGetItemInput{RequestItems: pending})
		cancel()
		if err != nil {
			return fmt.Errorf("dynamo: read %d items: %w", len(keys), storeError(s.opts.Table, err))
		}
		for _, av := range out.Responses[s.opts.Table] {
			found[itemKey(av)] = av
		}
		left, ok := out.UnprocessedKeys[s.opts.Table]
		if !ok || len(left.Keys) == 0 {
			return nil
		}
		if attempt+1 >= MaxBatchAttempts {
			return fmt.Errorf("%w: %d of %d keys read", ErrUnprocessed, len(keys)-len(left.Keys), len(keys))
		}
		pending = map[string]types.KeysAndAttributes{s.opts.Table: {Keys: left.Keys}}
		if err := s.opts.Backoff.Wait(ctx, attempt); err != nil {
			return fmt.Errorf("dynamo: read items: %d left unprocessed: %w", len(left.Keys), err)
		}
	}
}

// itemKey is an item's primary key as one string.
func itemKey(av map[string]types.AttributeValue) string {
	return stringAttr(av, attrPK) + "\x00" + stringAttr(av, attrSK)
}
