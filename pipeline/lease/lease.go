package lease

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Special checkpoint values (the KCL's sentinel checkpoints).
const (
	TrimHorizon = "TRIM_HORIZON"
	Latest      = "LATEST"
	AtTimestamp = "AT_TIMESTAMP"
	// ShardEnd marks a closed shard read to its end: its children may start.
	ShardEnd = "SHARD_END"
)

// Attribute names of a lease item (see the package comment).
const (
	attrKey           = "leaseKey"
	attrOwner         = "leaseOwner"
	attrCounter       = "leaseCounter"
	attrCheckpoint    = "checkpoint"
	attrSubSequence   = "checkpointSubSequenceNumber"
	attrOwnerSwitches = "ownerSwitchesSinceCheckpoint"
	attrParents       = "parentShardIds"
)

// ErrLost is returned when a conditional write finds the lease changed by
// another worker: it was taken, stolen or already released.
var ErrLost = errors.New("lease: held by another worker or changed since read")

// ErrNotFound is returned by Get for a lease that does not exist.
var ErrNotFound = errors.New("lease: not found")

// Lease is one shard's lease as stored.
type Lease struct {
	Key            string // shard id
	Owner          string // "" when nobody holds it
	Counter        int64
	Checkpoint     string
	ParentShardIDs []string
	OwnerSwitches  int64
}

// Finished reports whether the shard was read to its end.
func (l Lease) Finished() bool { return l.Checkpoint == ShardEnd }

// ItemError reports a lease item that cannot be decoded.
type ItemError struct {
	Key     string
	Problem string
}

func (e *ItemError) Error() string {
	return fmt.Sprintf("lease: item %q: %s", e.Key, e.Problem)
}

func decode(item map[string]types.AttributeValue) (Lease, error) {
	var l Lease
	if v, ok := item[attrKey].(*types.AttributeValueMemberS); ok {
		l.Key = v.Value
	} else {
		return Lease{}, &ItemError{Problem: "no leaseKey string"}
	}
	if v, ok := item[attrOwner].(*types.AttributeValueMemberS); ok {
		l.Owner = v.Value
	}
	if v, ok := item[attrCheckpoint].(*types.AttributeValueMemberS); ok {
		l.Checkpoint = v.Value
	}
	if v, ok := item[attrParents].(*types.AttributeValueMemberSS); ok {
		l.ParentShardIDs = v.Value
	}
	var err error
	if l.Counter, err = number(item, attrCounter); err != nil {
		return Lease{}, &ItemError{Key: l.Key, Problem: err.Error()}
	}
	if l.OwnerSwitches, err = number(item, attrOwnerSwitches); err != nil {
		return Lease{}, &ItemError{Key: l.Key, Problem: err.Error()}
	}
	return l, nil
}

// number reads an optional N attribute (absent: 0).
func number(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return n, nil
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
