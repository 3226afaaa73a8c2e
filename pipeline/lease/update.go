package lease

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Take makes owner the holder of l, conditional on the lease still having
// the counter (and owner) of l as read: this both takes an expired or free
// lease and steals a live one. It returns the lease as stored now, or
// ErrLost when another worker changed it first.
func (t *Table) Take(ctx context.Context, l Lease, owner string) (Lease, error) {
	cond := "#c = :old AND "
	vals := map[string]types.AttributeValue{":old": n(l.Counter), ":new": n(l.Counter + 1), ":me": s(owner), ":one": n(1)}
	if l.Owner == "" {
		cond += "attribute_not_exists(#o)"
	} else {
		cond += "#o = :prev"
		vals[":prev"] = s(l.Owner)
	}
	return t.update(ctx, l.Key, "take", "SET #o = :me, #c = :new ADD #sw :one", cond, vals, attrOwner, attrOwnerSwitches)
}

// Renew increments the counter of a lease held by owner, showing the other
// workers that the holder is alive.
func (t *Table) Renew(ctx context.Context, l Lease, owner string) (Lease, error) {
	return t.update(ctx, l.Key, "renew", "SET #c = :new", "#c = :old AND #o = :me",
		map[string]types.AttributeValue{":old": n(l.Counter), ":new": n(l.Counter + 1), ":me": s(owner)}, attrOwner)
}

// Checkpoint records cp (a sequence number or ShardEnd) on a lease held by
// owner; ErrLost if it is not held by owner with l's counter any more, in
// which case nothing is written.
func (t *Table) Checkpoint(ctx context.Context, l Lease, owner, cp string) (Lease, error) {
	return t.update(ctx, l.Key, "checkpoint", "SET #c = :new, #cp = :cp, #sub = :zero, #sw = :zero",
		"#c = :old AND #o = :me",
		map[string]types.AttributeValue{":old": n(l.Counter), ":new": n(l.Counter + 1), ":me": s(owner), ":cp": s(cp), ":zero": n(0)},
		attrOwner, attrCheckpoint, attrSubSequence, attrOwnerSwitches)
}

// Release removes owner from a lease it holds so another worker can take
// it at once, without waiting for it to expire.
func (t *Table) Release(ctx context.Context, l Lease, owner string) (Lease, error) {
	return t.update(ctx, l.Key, "release", "REMOVE #o SET #c = :new", "#c = :old AND #o = :me",
		map[string]types.AttributeValue{":old": n(l.Counter), ":new": n(l.Counter + 1), ":me": s(owner)}, attrOwner)
}

// placeholders name the attributes of the expressions; DynamoDB rejects
// names an expression does not use, so each operation lists its own.
var placeholders = map[string]string{
	attrOwner: "#o", attrCheckpoint: "#cp", attrSubSequence: "#sub", attrOwnerSwitches: "#sw",
}

// update runs one conditional UpdateItem and decodes the new item. attrs
// are the attributes besides leaseKey and leaseCounter that expr and cond
// use.
func (t *Table) update(ctx context.Context, key, op, expr, cond string, vals map[string]types.AttributeValue, attrs ...string) (Lease, error) {
	names := map[string]string{"#k": attrKey, "#c": attrCounter}
	for _, a := range attrs {
		names[placeholders[a]] = a
	}
	out, err := t.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(t.name),
		Key:                       map[string]types.AttributeValue{attrKey: s(key)},
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String("attribute_exists(#k) AND " + cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
		ReturnValues:              types.ReturnValueAllNew,
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		return Lease{}, fmt.Errorf("lease %s: %s: %w", key, op, ErrLost)
	case err != nil:
		return Lease{}, fmt.Errorf("lease %s: %s: %w", key, op, t.classify(ctx, err))
	}
	return decode(out.Attributes)
}
