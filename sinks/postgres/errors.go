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
// MarkReplayed when no dead letter has the id.
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
// succeed: the server or the connection went away, or the transaction lost
// a race with another one. Class 08 (connection exception) is matched as a
// class in classify.
var retryableStates = map[string]bool{
	"40001": true, // serialization_failure
	"40P01": true, // deadlock_detected
	"55P03": true, // lock_not_available
	"57P01": true, // admin_shutdown
	"57P02": true, // crash_shutdown
	"57P03": true, // cannot_connect_now (starting up, fail-over)
	"53300": true, // too_many_connections
	"53400": true, // configuration_limit_exceeded
	"58000": true, // system_error (I/O on the server)
}

// classify marks err retryable when it is a transient failure: a retryable
// SQLSTATE, a network error, a connection that closed under us, a connect
// failure or a deadline. Everything else (data and constraint errors,
// cancellation by the caller, unknown errors) stays permanent.
func classify(err error) error {
	if err == nil || sinks.IsRetryable(err) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if retryableStates[pgErr.Code] || len(pgErr.Code) == 5 && pgErr.Code[:2] == "08" {
			return sinks.Retryable(err)
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
		return sinks.Retryable(err)
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
