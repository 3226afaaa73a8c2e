package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
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
		message_bytes, truncated, archive_key, hotel_code, reason_class, received_month)
	SELECT $1::text, $2::text, $3::text, $4::text, $5::bytea, $6::text, $7::timestamptz,
		$8::bigint, $9::boolean, $10::text, $11::text, $12::text, resingest_month($7::timestamptz)
	WHERE NOT EXISTS (SELECT 1 FROM prev)
	ON CONFLICT (source, partition, position, received_month) WHERE position <> ''
		DO UPDATE SET position = EXCLUDED.position
	RETURNING id
)
SELECT id FROM ins UNION ALL SELECT id FROM prev LIMIT 1`

	writeDeadLettersSQL = `
INSERT INTO dead_letters (source, partition, position, message_id, message, reason, received_at,
	message_bytes, truncated, archive_key, hotel_code, reason_class, received_month)
SELECT t.*, resingest_month(t.received_at)
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::text[],
	$7::timestamptz[], $8::bigint[], $9::boolean[], $10::text[], $11::text[], $12::text[])
	AS t(source, partition, position, message_id, message, reason, received_at,
		message_bytes, truncated, archive_key, hotel_code, reason_class)
WHERE t.position = '' OR NOT EXISTS (
	SELECT 1 FROM dead_letters d
	WHERE d.received_month = (resingest_month(t.received_at) - interval '1 month')::date
		AND d.source = t.source AND d.partition = t.partition AND d.position = t.position
		AND d.position <> '') -- lets the partial unique index answer
ON CONFLICT (source, partition, position, received_month) WHERE position <> '' DO NOTHING`

	// deadLetterColumns are what deadLetterDest scans, in its order.
	deadLetterColumns = `id, source, partition, position, message_id, message, reason, received_at,
	created_at, replayed_at, message_bytes, truncated, archive_key, hotel_code, reason_class`

	// deadLetterWhere is ListDeadLetters' filter but for the id bound.
	// Unbounded sides of the time window come as -infinity and infinity;
	// the month bounds let the planner skip the partitions outside it.
	deadLetterWhere = `
WHERE ($1 = '' OR source = $1) AND (NOT $2 OR replayed_at IS NULL)
	AND ($5 = '' OR reason_class = $5 OR ($5 = '` + UnclassifiedReason + `' AND reason_class = ''))
	AND ($6 = '' OR hotel_code = $6)
	AND received_at >= $7 AND received_at < $8
	AND received_month >= resingest_month($7) AND received_month <= resingest_month($8)`

	// listDeadLettersSQL lists oldest first, after id $3;
	// listNewestDeadLettersSQL newest first, below id $3.
	listDeadLettersSQL       = `SELECT ` + deadLetterColumns + ` FROM dead_letters` + deadLetterWhere + ` AND id > $3 ORDER BY id LIMIT $4`
	listNewestDeadLettersSQL = `SELECT ` + deadLetterColumns + ` FROM dead_letters` + deadLetterWhere + ` AND id < $3 ORDER BY id DESC LIMIT $4`

	getDeadLetterSQL = `SELECT ` + deadLetterColumns + ` FROM dead_letters WHERE id = $1`

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
		d.MessageID, msg, d.Reason, d.ReceivedAt, letterBytes(&d), d.Truncated, d.ArchiveKey,
		d.HotelCode, d.ReasonClass).Scan(&id)
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
	hotels, classes := make([]string, n), make([]string, n)
	for i := range letters {
		d := &letters[i]
		sources[i], partitions[i], positions[i], msgIDs[i] = d.Source, d.Partition, d.Position, d.MessageID
		messages[i], reasons[i], received[i] = d.Message, d.Reason, d.ReceivedAt
		sizes[i], truncated[i], keys[i] = letterBytes(d), d.Truncated, d.ArchiveKey
		hotels[i], classes[i] = d.HotelCode, d.ReasonClass
		if messages[i] == nil {
			messages[i] = []byte{} // the column is NOT NULL; an empty message is still a letter
		}
	}
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, writeDeadLettersSQL, sources, partitions, positions, msgIDs,
		messages, reasons, received, sizes, truncated, keys, hotels, classes); err != nil {
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

// ListDeadLetters returns the dead letters f selects, in id order
// (descending with f.Newest). f.ReasonClass UnclassifiedReason selects
// the letters stored without a class too. Safe for concurrent use.
func (s *Sink) ListDeadLetters(ctx context.Context, f DeadLetterFilter) ([]DeadLetter, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	sql, bound := listDeadLettersSQL, f.AfterID
	if f.Newest {
		sql = listNewestDeadLettersSQL
		if bound == 0 {
			bound = math.MaxInt64
		}
	}
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, sql, f.Source, f.PendingOnly, bound, limit, f.ReasonClass, f.HotelCode,
		windowFrom(f.Since), windowTo(f.Until))
	if err != nil {
		return nil, fmt.Errorf("postgres: list dead letters: %w", classify(err))
	}
	var out []DeadLetter
	var d DeadLetter
	var replayed *time.Time
	_, err = pgx.ForEachRow(rows, deadLetterDest(&d, &replayed), func() error {
		out = append(out, finishDeadLetter(d, replayed))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list dead letters: %w", classify(err))
	}
	return out, nil
}

// GetDeadLetter returns dead letter id, or an error wrapping ErrNotFound
// when there is none. Safe for concurrent use.
func (s *Sink) GetDeadLetter(ctx context.Context, id int64) (DeadLetter, error) {
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	var d DeadLetter
	var replayed *time.Time
	err := s.pool.QueryRow(ctx, getDeadLetterSQL, id).Scan(deadLetterDest(&d, &replayed)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return DeadLetter{}, fmt.Errorf("dead letter %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return DeadLetter{}, fmt.Errorf("postgres: get dead letter %d: %w", id, classify(err))
	}
	return finishDeadLetter(d, replayed), nil
}

// deadLetterDest are the scan targets of deadLetterColumns.
func deadLetterDest(d *DeadLetter, replayed **time.Time) []any {
	return []any{&d.ID, &d.Source, &d.Partition, &d.Position, &d.MessageID,
		&d.Message, &d.Reason, &d.ReceivedAt, &d.CreatedAt, replayed,
		&d.MessageBytes, &d.Truncated, &d.ArchiveKey, &d.HotelCode, &d.ReasonClass}
}

// finishDeadLetter sets d's ReplayedAt from the scanned replayed_at.
func finishDeadLetter(d DeadLetter, replayed *time.Time) DeadLetter {
	d.ReplayedAt = time.Time{}
	if replayed != nil {
		d.ReplayedAt = *replayed
	}
	return d
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
