package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/ledger"
)

// AuditRow is ledger.AuditRow.
type AuditRow = ledger.AuditRow

// AuditRecord is ledger.AuditRecord.
type AuditRecord = ledger.AuditRecord

// writeAuditSQL skips a row whose source position has a row already: in
// its own month by the unique index, in the month before by the NOT EXISTS
// (a message first delivered before a month's end and redelivered after
// it; the unique index holds per month only, see migration 0010).
const writeAuditSQL = `
WITH t AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
		$6::timestamptz[], $7::text[], $8::text[], $9::interval[]) WITH ORDINALITY
		AS t(message_id, source, partition, position, received_at, stored_at, outcome, error, latency, n)
), ins AS (
	INSERT INTO audit (message_id, source, partition, position, received_at, stored_at,
		outcome, error, latency, received_month)
	SELECT t.message_id, t.source, t.partition, t.position, t.received_at, coalesce(t.stored_at, now()),
		t.outcome, t.error, t.latency, resingest_month(t.received_at)
	FROM t
	WHERE t.position = '' OR NOT EXISTS (
		SELECT 1 FROM audit a
		WHERE a.received_month = (resingest_month(t.received_at) - interval '1 month')::date
			AND a.source = t.source AND a.partition = t.partition AND a.position = t.position
			AND a.position <> '') -- lets the partial unique index answer
	ON CONFLICT (source, partition, position, received_month) WHERE position <> '' DO NOTHING
	RETURNING source, partition, position, received_month
)
-- The lineage of the rows written (not of a redelivered message's).
INSERT INTO audit_records (received_month, received_at, source, partition, position, message_id,
	ordinal, hotel_code, confirmation, version, action, message_type, archive_key, outcome, latency, mapping)
SELECT ins.received_month, m.received_at, m.source, m.partition, m.position, m.message_id,
	r.ordinal, r.hotel_code, r.confirmation, r.version, r.action, r.message_type, r.archive_key,
	r.outcome, m.latency, r.mapping
FROM unnest($10::int4[], $11::int4[], $12::text[], $13::text[], $14::text[], $15::text[],
	$16::text[], $17::text[], $18::text[], $19::text[])
	AS r(row_idx, ordinal, hotel_code, confirmation, version, action, message_type, archive_key, outcome, mapping)
JOIN t m ON m.n = r.row_idx
JOIN ins ON ins.source = m.source AND ins.partition = m.partition AND ins.position = m.position`

// WriteAudit appends rows to the audit trail in one statement (one round
// trip): all of them or, on error, none. A row whose (source, partition,
// position) is already stored is skipped, so a redelivered message keeps
// exactly one audit row. Safe for concurrent use.
func (s *Sink) WriteAudit(ctx context.Context, rows []AuditRow) error {
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	msgIDs, sources, partitions, positions := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	received, stored := make([]time.Time, n), make([]*time.Time, n)
	outcomes, errs := make([]string, n), make([]string, n)
	latencies := make([]time.Duration, n)
	for i, r := range rows {
		msgIDs[i], sources[i], partitions[i], positions[i] = r.MessageID, r.Source, r.Partition, r.Position
		received[i] = r.ReceivedAt
		if !r.StoredAt.IsZero() {
			stored[i] = &rows[i].StoredAt
		}
		outcomes[i], errs[i], latencies[i] = r.Outcome, r.Error, r.Latency
	}
	var rec auditRecordColumns
	for i := range rows {
		for _, x := range rows[i].Records {
			rec.add(i+1, x)
		}
	}
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, writeAuditSQL, msgIDs, sources, partitions, positions,
		received, stored, outcomes, errs, latencies, rec.row, rec.ordinal, rec.hotel, rec.conf,
		rec.version, rec.action, rec.msgType, rec.archiveKey, rec.outcome, rec.mapping); err != nil {
		return fmt.Errorf("postgres: write %d audit rows: %w", n, classify(err))
	}
	return nil
}

// AuditFilter selects audit rows for ListAudit.
type AuditFilter struct {
	MessageID string // "" for any
	AfterID   int64  // rows with a greater id only (paging)
	Limit     int    // at most this many; 0 means 100
}

// AuditEntry is an AuditRow as stored, with its id.
type AuditEntry struct {
	ID int64
	AuditRow
}

const listAuditSQL = `
SELECT id, message_id, source, partition, position, received_at, stored_at, outcome, error, latency
FROM audit
WHERE ($1 = '' OR message_id = $1) AND id > $2
ORDER BY id LIMIT $3`

// ListAudit returns audit rows in id order, without their Records (see
// History). Safe for concurrent use.
func (s *Sink) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, listAuditSQL, f.MessageID, f.AfterID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit: %w", classify(err))
	}
	var out []AuditEntry
	var e AuditEntry
	_, err = pgx.ForEachRow(rows, []any{&e.ID, &e.MessageID, &e.Source, &e.Partition, &e.Position,
		&e.ReceivedAt, &e.StoredAt, &e.Outcome, &e.Error, &e.Latency}, func() error {
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit: %w", classify(err))
	}
	return out, nil
}

// auditRecordColumns are the lineage arrays of writeAuditSQL ($10-$19);
// row is the 1-based index of the record's audit row in the batch.
type auditRecordColumns struct {
	row, ordinal                                      []int32
	hotel, conf, version, action, msgType, archiveKey []string
	outcome, mapping                                  []string
}

func (c *auditRecordColumns) add(row int, r AuditRecord) {
	c.row, c.ordinal = append(c.row, int32(row)), append(c.ordinal, int32(r.Ordinal))
	c.hotel, c.conf, c.version = append(c.hotel, r.HotelCode), append(c.conf, r.Confirmation), append(c.version, r.Version)
	c.action, c.msgType = append(c.action, r.Action), append(c.msgType, r.MessageType)
	c.archiveKey, c.outcome = append(c.archiveKey, r.ArchiveKey), append(c.outcome, r.Outcome)
	c.mapping = append(c.mapping, r.Mapping)
}
