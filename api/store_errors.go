package api

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5/pgconn"
)

// asBadKey wraps err with ErrBadKey when the store refused the value it
// was asked for rather than failed: DynamoDB's ValidationException (a key
// over 2,048 bytes, an empty key part) and Postgres data exceptions
// (class 22: a NUL or invalid UTF-8, a value too long) or an index row too
// large (54000). The handlers validate values first, so this is a second
// line; other errors pass through unchanged.
func asBadKey(err error) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationException" {
		return fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (len(pgErr.Code) == 5 && pgErr.Code[:2] == "22" || pgErr.Code == "54000") {
		return fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	return err
}
