package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/ledger"
)

// DeadLetter is ledger.DeadLetter.
type DeadLetter = ledger.DeadLetter

// DeadLetterFilter is ledger.DeadLetterFilter.
type DeadLetterFilter = ledger.DeadLetterFilter

const (
	// insertDeadLetterSQL returns the id of the letter it stores, or of
	// the one stored already for the source position: in its own month
	// (the unique index) or in the month before (prev; see writeAuditSQL).
	insertDeadLetterSQL = `
WITH prev AS (
	SELECT id FROM dead_letters
	WHERE $3::text <> '' AND received_month = (resingest_month($7::timestamptz) - interval '1 month')::date
		AND source = $1::text AND partition = $2::text AND position = $3::text
		AND position <> '' -- lets the partial unique index answer
), ins AS (
	INSERT INTO dead_letters (source, partition, position, message_id, message, reason, received_at,
		message_bytes, truncated, archive_key, received_month)
	SELECT $1::text, $2::text, $3::text, $4::text, $5::bytea, $6::text, $7::timestamptz,
		$8::bigint, $9::boolean, $10::text, resingest_month($7::timestamptz)
	WHERE NOT EXISTS (SELECT 1 FROM prev)
	ON CONFLICT (source, partition, position, received_month) WHERE position <> ''
		DO UPDATE SET position = EXCLUDED.position
	RETURNING id
)
SELECT id FROM ins UNION ALL SELECT id FROM prev LIMIT 1`

	writeDeadLettersSQL = `
INSERT INTO dead_letters (source, partition, position, message_id, message, reason, received_at,
	message_bytes, truncated, archive_key, received_month)
SELECT t.*, resingest_month(t.received_at)
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::text[],
	$7::timestamptz[], $8::bigint[], $9::boolean[], $10::text[])
	AS t(source, partition, position, message_id, message, reason, received_at,
		message_bytes, truncated, archive_key)
WHERE t.position = '' OR NOT EXISTS (
	SELECT 1 FROM dead_letters d
	WHERE d.received_month = (resingest_month(t.received_at) - interval '1 month')::date
		AND d.source = t.source AND d.partition = t.partition AND d.position = t.position
		AND d.position <> '') -- lets the partial unique index answer
ON CONFLICT (source, partition, position, received_month) WHERE position <> '' DO NOTHING`

	listDeadLettersSQL = `
SELECT id, source, partition, position, message_id, message, reason, received_at, created_at, replayed_at,
	message_bytes, truncated, archive_key
FROM dead_letters
WHERE ($1 = '' OR source = $1) AND (NOT $2 OR replayed_at IS NULL) AND id > $3
ORDER BY id LIMIT $4`

	// markReplayedSQL keeps the first replay time: marking twice is harmless.
	markReplayedSQL = `
UPDATE dead_letters SET replayed_at = coalesce(replayed_at, now()) WHERE id = $1`
)

// DeadLetter stores d and returns its id; a letter for the same (source,
// partition, position) is stored once and its id returned again. Safe for
// concurrent use.
func (s *Sink) DeadLetter(ctx context.Context, d DeadLetter) (int64, error) {
	msg := d.Message
	if msg == nil {
		msg = []byte{} // the column is NOT NULL; an empty message is still a letter
	}
	var id int64
	err := s.pool.QueryRow(ctx, insertDeadLetterSQL, d.Source, d.Partition, d.Position,
		d.MessageID, msg, d.Reason, d.ReceivedAt, letterBytes(&d), d.Truncated, d.ArchiveKey).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("postgres: store dead letter: %w", classify(err))
	}
	return id, nil
}

// WriteDeadLetters stores letters in one statement (one round trip): all of
// them or, on error, none. Letters whose (source, partition, position) is
// already stored are skipped, so a redelivered poison message is
// dead-lettered once. Safe for concurrent use.
func (s *Sink) WriteDeadLetters(ctx context.Context, letters []DeadLetter) error {
	if len(letters) == 0 {
		return nil
	}
	n := len(letters)
	sources, partitions, positions, msgIDs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	messages, reasons, received := make([][]byte, n), make([]string, n), make([]time.Time, n)
	sizes, truncated, keys := make([]int64, n), make([]bool, n), make([]string, n)
	for i := range letters {
		d := &letters[i]
		sources[i], partitions[i], positions[i], msgIDs[i] = d.Source, d.Partition, d.Position, d.MessageID
		messages[i], reasons[i], received[i] = d.Message, d.Reason, d.ReceivedAt
		sizes[i], truncated[i], keys[i] = letterBytes(d), d.Truncated, d.ArchiveKey
		if messages[i] == nil {
			messages[i] = []byte{} // the column is NOT NULL; an empty message is still a letter
		}
	}
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, writeDeadLettersSQL, sources, partitions, positions, msgIDs,
		messages, reasons, received, sizes, truncated, keys); err != nil {
		return fmt.Errorf("postgres: store %d dead letters: %w", n, classify(err))
	}
	return nil
}

// letterBytes is the size recorded for d: MessageBytes, or the size of
// Message when it is unset.
func letterBytes(d *DeadLetter) int64 {
	if d.MessageBytes > 0 {
		return d.MessageBytes
	}
	return int64(len(d.Message))
}

// ListDeadLetters returns the dead letters f selects, in id order.
// Safe for concurrent use.
func (s *Sink) ListDeadLetters(ctx context.Context, f DeadLetterFilter) ([]DeadLetter, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, listDeadLettersSQL, f.Source, f.PendingOnly, f.AfterID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: list dead letters: %w", classify(err))
	}
	var out []DeadLetter
	var d DeadLetter
	var replayed *time.Time
	_, err = pgx.ForEachRow(rows, []any{&d.ID, &d.Source, &d.Partition, &d.Position, &d.MessageID,
		&d.Message, &d.Reason, &d.ReceivedAt, &d.CreatedAt, &replayed,
		&d.MessageBytes, &d.Truncated, &d.ArchiveKey}, func() error {
		d.ReplayedAt = time.Time{}
		if replayed != nil {
			d.ReplayedAt = *replayed
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list dead letters: %w", classify(err))
	}
	return out, nil
}

// MarkReplayed records that dead letter id was replayed. It returns an
// error wrapping ErrNotFound when there is no such letter.
func (s *Sink) MarkReplayed(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, markReplayedSQL, id)
	if err != nil {
		return fmt.Errorf("postgres: mark dead letter %d replayed: %w", id, classify(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("dead letter %d: %w", id, ErrNotFound)
	}
	return nil
}
