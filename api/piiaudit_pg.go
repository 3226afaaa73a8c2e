package api

import (
	"context"
	"fmt"

	"github.com/resingest/resingest/sinks/postgres"
)

// PostgresAccessLog stores audit rows in the pii_access table (migration
// 0004) through the Postgres store. It is safe for concurrent use.
type PostgresAccessLog struct {
	pg *postgres.Sink
}

// NewPostgresAccessLog writes through pg.
func NewPostgresAccessLog(pg *postgres.Sink) *PostgresAccessLog {
	return &PostgresAccessLog{pg: pg}
}

// Check fails when the pii_access table is missing (run 'resingest db
// migrate'), so that serve finds out at start, not at the first read.
func (l *PostgresAccessLog) Check(ctx context.Context) error {
	if err := l.pg.CheckPIIAccess(ctx); err != nil {
		return fmt.Errorf("api: %w", err)
	}
	return nil
}

// WriteAccesses implements AccessSink with one COPY. A failure of the
// server as a whole is retryable (sinks.IsRetryable); a missing table or
// bad data is not.
func (l *PostgresAccessLog) WriteAccesses(ctx context.Context, rows []PIIAccess) error {
	out := make([]postgres.PIIAccess, len(rows))
	for i, r := range rows {
		out[i] = postgres.PIIAccess{At: r.At, RequestID: r.RequestID, CallerKind: r.CallerKind, CallerID: r.CallerID,
			HotelCode: r.HotelCode, Confirmation: r.Confirmation, Fields: r.Fields}
	}
	if err := l.pg.WritePIIAccess(ctx, out); err != nil {
		return fmt.Errorf("api: write the PII access audit: %w", err)
	}
	return nil
}
