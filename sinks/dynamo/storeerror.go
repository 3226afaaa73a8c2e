package dynamo

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableMissingError is the store-level error of a write to a table that
// does not exist (deleted, or a DynamoDB that came back empty). It names
// the table, so that the worker's log line and exit error
// tell the operator what to do (the StoreError around it carries the fix:
// `resingest db migrate`). It unwraps to DynamoDB's error.
type TableMissingError struct {
	Table string
	Err   error
}

func (e *TableMissingError) Error() string {
	return fmt.Sprintf("table %s does not exist (%v)", e.Table, e.Err)
}

func (e *TableMissingError) Unwrap() error { return e.Err }

// storeError wraps a store-level error of table in ErrStoreUnavailable,
// naming the table and, for a missing one, the fix.
func storeError(table string, err error) error {
	var notFound *types.ResourceNotFoundException
	if errors.As(err, &notFound) {
		return fmt.Errorf("%w: %w", ErrStoreUnavailable, &TableMissingError{Table: table, Err: err})
	}
	return fmt.Errorf("%w: table %s: %w", ErrStoreUnavailable, table, err)
}
