package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// PIIAccess is one row of the PII access audit (table pii_access,
// migration 0004): who was shown which personal fields of a reservation.
type PIIAccess struct {
	At        time.Time
	RequestID string
	// CallerKind is "partner" or "guest"; CallerID the partner's access
	// key id or a hash of the guest id, never an e-mail address.
	CallerKind   string
	CallerID     string
	HotelCode    string
	Confirmation string
	Fields       []string
}

var piiAccessColumns = []string{"accessed_at", "request_id", "caller_kind", "caller_id", "hotel_code", "confirmation", "fields", "accessed_month"}

// CheckPIIAccess fails when the pii_access table is missing (run
// `resingest db migrate`), so that a server finds out at start, not at its
// first read of personal data. Safe for concurrent use.
func (s *Sink) CheckPIIAccess(ctx context.Context) error {
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, "SELECT 1 FROM pii_access LIMIT 0"); err != nil {
		return fmt.Errorf("postgres: the PII access audit table: %w", classify(err))
	}
	return nil
}

// WritePIIAccess appends rows to the PII access audit with one COPY: all
// of them or, on error, none. A failure of the server as a whole is a
// transient *sinks.StoreError (sinks.IsRetryable). Safe for concurrent use.
func (s *Sink) WritePIIAccess(ctx context.Context, rows []PIIAccess) error {
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"pii_access"}, piiAccessColumns,
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := &rows[i]
			return []any{r.At, r.RequestID, r.CallerKind, r.CallerID, r.HotelCode, r.Confirmation, r.Fields, monthOf(r.At)}, nil
		}))
	if err != nil {
		return fmt.Errorf("postgres: write %d PII access rows: %w", len(rows), classify(err))
	}
	return nil
}
