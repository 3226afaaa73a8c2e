package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/reservation"
)

// HistoryEntry is what one message did to a reservation: a row of its
// lineage (audit_records, migration 0013).
type HistoryEntry struct {
	ReceivedAt  time.Time     `json:"received_at"`
	Source      string        `json:"source"`
	Partition   string        `json:"partition"`
	Position    string        `json:"position"`
	MessageID   string        `json:"message_id"`
	Ordinal     int           `json:"ordinal"`    // the record's place in its message
	HotelCode   string        `json:"hotel_code"` // "" while the record is held
	Version     string        `json:"version"`
	Action      string        `json:"action"`
	MessageType string        `json:"message_type"`
	ArchiveKey  string        `json:"archive_key"` // "" when no archive kept it
	Outcome     string        `json:"outcome"`
	Mapping     string        `json:"mapping"`    // the parser mapping that extracted it; "" when unknown
	Latency     time.Duration `json:"latency_ns"` // from receipt to the stores' acknowledgement
}

const historySQL = `
SELECT received_at, source, partition, position, message_id, ordinal, hotel_code, version,
	action, message_type, archive_key, outcome, latency, mapping
FROM audit_records
WHERE confirmation = $2 AND (hotel_code = $1 OR hotel_code = '')
ORDER BY received_at, source, partition, position, ordinal
LIMIT $3`

// History returns the lineage of reservation k, oldest message first: one
// entry per message record that named it, including records still held
// for key resolution under its confirmation (HotelCode ""). At most limit
// entries. Messages audited before migration 0013 have none. Safe for
// concurrent use.
func (s *Sink) History(ctx context.Context, k reservation.Key, limit int) ([]HistoryEntry, error) {
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, historySQL, k.HotelCode, k.Confirmation, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: history of %s: %w", k, classify(err))
	}
	var out []HistoryEntry
	var e HistoryEntry
	var ordinal int32
	_, err = pgx.ForEachRow(rows, []any{&e.ReceivedAt, &e.Source, &e.Partition, &e.Position, &e.MessageID,
		&ordinal, &e.HotelCode, &e.Version, &e.Action, &e.MessageType, &e.ArchiveKey, &e.Outcome, &e.Latency, &e.Mapping}, func() error {
		e.Ordinal = int(ordinal)
		e.ReceivedAt = e.ReceivedAt.UTC()
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: history of %s: %w", k, classify(err))
	}
	return out, nil
}
