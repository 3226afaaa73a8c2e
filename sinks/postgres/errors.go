package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/resingest/resingest/sinks"
)

// ErrNotFound is returned by Get when no reservation has the key, and by
// GetDeadLetter and MarkReplayed when no dead letter has the id.
var ErrNotFound = errors.New("postgres: not found")

// RecordError is the permanent failure of one record of a batch. It never
// carries field values, which may be personal data.
type RecordError struct {
	Index int   // position of the record in the batch given to Write
	Err   error // why: a *reservation.FieldError or a *pgconn.PgError
}

func (e *RecordError) Error() string { return fmt.Sprintf("postgres: record %d: %v", e.Index, e.Err) }

// Unwrap exposes the cause to errors.Is and errors.As.
func (e *RecordError) Unwrap() error { return e.Err }

// retryableStates are the SQLSTATEs after which the same statement may
// succeed because the transaction lost a race with another one: plain
// retryable errors, not the store's failure.
var retryableStates = map[string]bool{
	"40001": true, // serialization_failure
	"40P01": true, // deadlock_detected
	"55P03": true, // lock_not_available
}

// unavailableStates mean the server is going away, overloaded or out of
// resources, or our per-attempt statement_timeout cancelled a statement
// that did not finish (a frozen or overloaded server): the store's
// failure, transient. Class 08 (connection exception) is matched as a
// class in classify.
var unavailableStates = map[string]bool{
	"57P01": true, // admin_shutdown
	"57P02": true, // crash_shutdown
	"57P03": true, // cannot_connect_now (starting up, fail-over)
	"57014": true, // query_canceled (statement_timeout)
	"53000": true, // insufficient_resources
	"53100": true, // disk_full
	"53200": true, // out_of_memory
	"53300": true, // too_many_connections
	"53400": true, // configuration_limit_exceeded
	"58000": true, // system_error (I/O on the server)
	"58030": true, // io_error
	"25006": true, // read_only_sql_transaction (connected to a replica after a fail-over)
}

// missingStates mean the schema is not there: a table, column, function,
// schema or the database itself is missing (not migrated, dropped, or the
// wrong --pg-url).
var missingStates = map[string]bool{
	"42P01": true, // undefined_table
	"42703": true, // undefined_column
	"42883": true, // undefined_function
	"42704": true, // undefined_object (a type)
	"3F000": true, // invalid_schema_name
	"3D000": true, // invalid_catalog_name
}

// Fixes named in store errors.
const (
	fixMissing    = "the schema is missing or older than this worker: run `resingest db migrate` or fix --pg-url"
	fixPermission = "the worker's role may not connect or write: grant it the privileges or fix --pg-url"
)

// storeName names Postgres in store errors, logs and metrics.
const storeName = "postgres"

// classify marks err by what it says about Postgres: a failure of the
// store as a whole is a *sinks.StoreError (missing schema or database;
// refused credentials or privileges, class 28 and 42501; a server going
// away, overloaded or timed out, a network error, a lost connection or a
// deadline: transient); a lost race between transactions is retryable.
// Everything else (data and constraint errors, cancellation by the
// caller, unknown errors) stays permanent.
func classify(err error) error {
	if err == nil || sinks.IsRetryable(err) {
		return err
	}
	if _, ok := sinks.AsStoreError(err); ok {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		code := pgErr.Code
		switch {
		case retryableStates[code]:
			return sinks.Retryable(err)
		case unavailableStates[code] || len(code) == 5 && code[:2] == "08":
			return sinks.NewStoreError(storeName, sinks.ClassUnavailable, "", err)
		case missingStates[code]:
			return sinks.NewStoreError(storeName, sinks.ClassMissing, fixMissing, err)
		case code == "42501" || len(code) == 5 && code[:2] == "28":
			return sinks.NewStoreError(storeName, sinks.ClassPermission, fixPermission, err)
		}
		return err
	}
	if errors.Is(err, context.Canceled) {
		// The caller gave up (shutdown): not the store's fault, and the
		// caller knows; retrying under the same context cannot succeed.
		return err
	}
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		pgconn.Timeout(err),
		pgconn.SafeToRetry(err),
		errors.As(err, &connectErr),
		errors.As(err, &netErr),
		errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed):
		return sinks.NewStoreError(storeName, sinks.ClassUnavailable, "", err)
	}
	return err
}

// isDataError reports whether err is the server rejecting the data of a
// statement (class 22 data exception, class 23 integrity constraint
// violation): retrying the records one by one finds which record it was.
func isDataError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) != 5 {
		return false
	}
	class := pgErr.Code[:2]
	return class == "22" || class == "23"
}

// isUniqueViolation reports whether err is Postgres's unique_violation.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
