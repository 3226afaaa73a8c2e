package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/resingest/resingest/sinks"
)

// PostgresAccessLog stores audit rows in the pii_access table (migration
// 0004). It is safe for concurrent use.
type PostgresAccessLog struct {
	pool *pgxpool.Pool
}

// NewPostgresAccessLog writes through pool.
func NewPostgresAccessLog(pool *pgxpool.Pool) *PostgresAccessLog {
	return &PostgresAccessLog{pool: pool}
}

var accessColumns = []string{"accessed_at", "request_id", "caller_kind", "caller_id", "hotel_code", "confirmation", "fields"}

// Check fails when the pii_access table is missing (run 'resingest db
// migrate'), so that serve finds out at start, not at the first read.
func (l *PostgresAccessLog) Check(ctx context.Context) error {
	if _, err := l.pool.Exec(ctx, "SELECT 1 FROM pii_access LIMIT 0"); err != nil {
		return fmt.Errorf("api: the PII access audit table: %w", err)
	}
	return nil
}

// WriteAccesses implements AccessSink with one COPY.
func (l *PostgresAccessLog) WriteAccesses(ctx context.Context, rows []PIIAccess) error {
	_, err := l.pool.CopyFrom(ctx, pgx.Identifier{"pii_access"}, accessColumns,
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := &rows[i]
			return []any{r.At, r.RequestID, r.CallerKind, r.CallerID, r.HotelCode, r.Confirmation, r.Fields}, nil
		}))
	if err != nil {
		return fmt.Errorf("api: write the PII access audit: %w", classifyPG(err))
	}
	return nil
}

// classifyPG marks transient failures retryable: the connection or the
// server went away, a timeout, a server that is starting or shutting
// down. Everything else (a missing table, bad data) stays permanent.
func classifyPG(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch c := pgErr.Code; {
		case len(c) == 5 && c[:2] == "08", c == "57P01", c == "57P02", c == "57P03", c == "53300", c == "40001", c == "40P01":
			return sinks.Retryable(err)
		}
		return err
	}
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err), pgconn.SafeToRetry(err),
		errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return sinks.Retryable(err)
	}
	return err
}
