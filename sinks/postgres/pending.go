package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/ledger"
	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// Key resolution (DESIGN.md): the store side. The pipeline decides; these
// methods look stored reservations up by confirmation and keep the
// records held until their reservation arrives (table pending_records,
// migration 0009). Each call (FinishPending: its transaction) runs within
// the store's attempt deadline, so a frozen server fails it for a retry.

// Candidate is ledger.Candidate.
type Candidate = ledger.Candidate

// PendingRecord is ledger.PendingRecord.
type PendingRecord = ledger.PendingRecord

// PendingDone is ledger.PendingDone.
type PendingDone = ledger.PendingDone

const candidatesSQL = `
SELECT r.confirmation, r.hotel_code, r.chain_code,
	coalesce((SELECT array_agg(e.id_value ORDER BY e.ordinal) FROM reservation_external_ids e
		WHERE e.hotel_code = r.hotel_code AND e.confirmation = r.confirmation
			AND e.id_value <> '' AND e.id_value <> r.confirmation), '{}')
FROM reservations r
WHERE r.confirmation = ANY($1::text[])
ORDER BY r.confirmation, r.hotel_code`

// Candidates returns, per confirmation of confs, the stored reservations
// with that confirmation (none: no entry). Safe for concurrent use.
func (s *Sink) Candidates(ctx context.Context, confs []string) (map[string][]Candidate, error) {
	out := make(map[string][]Candidate)
	if len(confs) == 0 {
		return out, nil
	}
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, candidatesSQL, confs)
	if err != nil {
		return nil, fmt.Errorf("postgres: look up confirmations: %w", classify(err))
	}
	var conf string
	var c Candidate
	_, err = pgx.ForEachRow(rows, []any{&conf, &c.HotelCode, &c.ChainCode, &c.IDs}, func() error {
		out[conf] = append(out[conf], c)
		c = Candidate{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: look up confirmations: %w", classify(err))
	}
	return out, nil
}

const holdSQL = `
INSERT INTO pending_records (confirmation, version, record, guest_indexes, archive_key,
	source, partition, position, ordinal, message_id, received_at, message,
	message_bytes, truncated, letter_key)
SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::jsonb[], $5::text[],
	$6::text[], $7::text[], $8::text[], $9::int4[], $10::text[], $11::timestamptz[], $12::bytea[],
	$13::int8[], $14::bool[], $15::text[])
ON CONFLICT (source, partition, position, ordinal) WHERE position <> '' DO NOTHING`

// Hold stores recs in pending_records in one statement: all or, on error,
// none. A record whose (source, partition, position, ordinal) is already
// held is skipped, so a redelivered message is held once. Safe for
// concurrent use.
func (s *Sink) Hold(ctx context.Context, recs []PendingRecord) error {
	if len(recs) == 0 {
		return nil
	}
	n := len(recs)
	confs, versions, records, indexes := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	keys, sources, partitions, positions := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	ordinals, msgIDs := make([]int32, n), make([]string, n)
	received, messages := make([]time.Time, n), make([][]byte, n)
	sizes, truncated, letterKeys := make([]int64, n), make([]bool, n), make([]string, n)
	for i := range recs {
		r := &recs[i]
		if r.Reservation.HotelCode != "" {
			return fmt.Errorf("postgres: hold record %d: it has a hotel code; only records without one are held", i)
		}
		rec, err := json.Marshal(r.Reservation)
		if err != nil {
			return fmt.Errorf("postgres: hold record %d: %w", i, err)
		}
		idx := r.GuestIndexes
		if idx == nil {
			idx = []pii.GuestIndex{}
		}
		ix, err := json.Marshal(idx)
		if err != nil {
			return fmt.Errorf("postgres: hold record %d: %w", i, err)
		}
		confs[i], versions[i], records[i], indexes[i] = r.Reservation.Confirmation, r.Version, string(rec), string(ix)
		keys[i], sources[i], partitions[i], positions[i] = r.ArchiveKey, r.Source, r.Partition, r.Position
		ordinals[i], msgIDs[i], received[i], messages[i] = int32(r.Ordinal), r.MessageID, r.ReceivedAt, r.Message
		if messages[i] == nil {
			messages[i] = []byte{}
		}
		sizes[i], truncated[i], letterKeys[i] = r.MessageBytes, r.Truncated, r.LetterKey
	}
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, holdSQL, confs, versions, records, indexes, keys, sources,
		partitions, positions, ordinals, msgIDs, received, messages, sizes, truncated, letterKeys); err != nil {
		return fmt.Errorf("postgres: hold %d records: %w", n, classify(err))
	}
	return nil
}

const pendingConfirmationsSQL = `
SELECT DISTINCT confirmation FROM pending_records WHERE confirmation = ANY($1::text[])`

// PendingConfirmations returns the confirmations of confs that have held
// records. It is what every stored batch asks, so it reads an index only.
// Safe for concurrent use.
func (s *Sink) PendingConfirmations(ctx context.Context, confs []string) ([]string, error) {
	if len(confs) == 0 {
		return nil, nil
	}
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, pendingConfirmationsSQL, confs)
	if err != nil {
		return nil, fmt.Errorf("postgres: look up held records: %w", classify(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: look up held records: %w", classify(err))
	}
	return out, nil
}

const pendingColumns = `id, record, version, guest_indexes, archive_key, source, partition, position,
	ordinal, message_id, received_at, held_at, message, message_bytes, truncated, letter_key`

const pendingForSQL = `
SELECT ` + pendingColumns + `
FROM pending_records WHERE confirmation = ANY($1::text[])
ORDER BY confirmation, version, id`

// PendingFor returns the records held for confs, by confirmation and, for
// each, in version order. Safe for concurrent use.
func (s *Sink) PendingFor(ctx context.Context, confs []string) ([]PendingRecord, error) {
	if len(confs) == 0 {
		return nil, nil
	}
	return s.queryPending(ctx, pendingForSQL, confs)
}

const expiredPendingSQL = `
SELECT ` + pendingColumns + `
FROM pending_records WHERE held_at < $1
ORDER BY held_at, id LIMIT $2`

// ExpiredPending returns up to limit records held since before cutoff,
// oldest first. Safe for concurrent use.
func (s *Sink) ExpiredPending(ctx context.Context, cutoff time.Time, limit int) ([]PendingRecord, error) {
	return s.queryPending(ctx, expiredPendingSQL, cutoff, limit)
}

func (s *Sink) queryPending(ctx context.Context, sql string, args ...any) ([]PendingRecord, error) {
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: read held records: %w", classify(err))
	}
	var out []PendingRecord
	var p PendingRecord
	var rec, idx []byte
	var ordinal int32
	_, err = pgx.ForEachRow(rows, []any{&p.ID, &rec, &p.Version, &idx, &p.ArchiveKey, &p.Source,
		&p.Partition, &p.Position, &ordinal, &p.MessageID, &p.ReceivedAt, &p.HeldAt, &p.Message,
		&p.MessageBytes, &p.Truncated, &p.LetterKey}, func() error {
		q := p
		q.Reservation, q.GuestIndexes = reservation.Reservation{}, nil
		if err := json.Unmarshal(rec, &q.Reservation); err != nil {
			return fmt.Errorf("held record %d: %w", p.ID, err)
		}
		if err := json.Unmarshal(idx, &q.GuestIndexes); err != nil {
			return fmt.Errorf("held record %d: guest indexes: %w", p.ID, err)
		}
		if len(q.GuestIndexes) == 0 {
			q.GuestIndexes = nil
		}
		q.Ordinal = int(ordinal)
		q.Message = append([]byte(nil), p.Message...)
		out = append(out, q)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: read held records: %w", classify(err))
	}
	return out, nil
}

const (
	deletePendingSQL = `DELETE FROM pending_records WHERE id = $1`

	// finishAuditSQL sets the outcome of a held message's audit row, or
	// writes the row when the message's own audit write has not happened
	// yet (the record was released within the batch that held it): that
	// later write then finds the row and leaves it (ON CONFLICT DO NOTHING).
	// Only a row still "held" is changed, so a message keeps one row.
	//
	// It returns whether the row now has its outcome: false when the
	// statement changed nothing although the row is still held, or wrote
	// nothing because a row it could not see took its place. Both happen
	// when a concurrent transaction moved or wrote the row after this
	// statement took its snapshot; a new statement (a new snapshot, READ
	// COMMITTED) then finds it (see FinishPending).
	finishAuditSQL = `
WITH updated AS (
	UPDATE audit SET outcome = $6, error = $7, stored_at = now()
	WHERE source = $2 AND partition = $3 AND position = $4
		AND ($4 <> '' OR message_id = $1) AND outcome = 'held'
	RETURNING id
), present AS (
	SELECT outcome FROM audit WHERE source = $2 AND partition = $3 AND position = $4
		AND ($4 <> '' OR message_id = $1)
), inserted AS (
	INSERT INTO audit (message_id, source, partition, position, received_at, stored_at, outcome, error, latency,
		received_month)
	SELECT $1, $2, $3, $4, $5, now(), $6, $7, now() - $5::timestamptz, resingest_month($5::timestamptz)
	WHERE NOT EXISTS (SELECT 1 FROM updated) AND NOT EXISTS (SELECT 1 FROM present)
	ON CONFLICT (source, partition, position, received_month) WHERE position <> '' DO NOTHING
	RETURNING id
)
SELECT EXISTS (SELECT 1 FROM updated) OR EXISTS (SELECT 1 FROM inserted)
	OR EXISTS (SELECT 1 FROM present WHERE outcome <> 'held')`
)

// finishAuditAttempts bounds how often FinishPending re-runs
// finishAuditSQL for one record whose audit row moved under it.
const finishAuditAttempts = 5

// errAuditRowMoving is returned (retryable) when a held message's audit
// row kept changing under finishAuditSQL.
var errAuditRowMoving = errors.New("the held message's audit row kept changing under the update")

// FinishPending settles held records in one transaction: each record of
// done still held is deleted, its message's audit row takes the outcome
// (see finishAuditSQL) and its dead letter, if any, is stored. A record
// that is no longer held (another worker settled it first) is skipped
// whole. It returns how many records it settled. Safe for concurrent use.
func (s *Sink) FinishPending(ctx context.Context, done []PendingDone) (int, error) {
	if len(done) == 0 {
		return 0, nil
	}
	settled := 0
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		settled = 0
		for _, d := range done {
			r := d.Record
			tag, err := tx.Exec(ctx, deletePendingSQL, r.ID)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				continue
			}
			settled++
			if err := finishAudit(ctx, tx, r, d); err != nil {
				return err
			}
			if err := finishLineage(ctx, tx, r, d); err != nil {
				return err
			}
			if l := d.Letter; l != nil {
				msg := l.Message
				if msg == nil {
					msg = []byte{}
				}
				if _, err := tx.Exec(ctx, writeDeadLettersSQL, []string{l.Source}, []string{l.Partition},
					[]string{l.Position}, []string{l.MessageID}, [][]byte{msg}, []string{l.Reason},
					[]time.Time{l.ReceivedAt}, []int64{letterBytes(l)}, []bool{l.Truncated},
					[]string{l.ArchiveKey}, []string{l.HotelCode}, []string{l.ReasonClass}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: settle %d held records: %w", len(done), classify(err))
	}
	return settled, nil
}

const (
	// finishLineageSQL gives a held record's lineage row (audit_records)
	// the hotel it was applied to and its outcome.
	finishLineageSQL = `
UPDATE audit_records SET hotel_code = $5, outcome = $6
WHERE hotel_code = '' AND confirmation = $7 AND outcome = 'held'
	AND source = $1 AND partition = $2 AND position = $3 AND ordinal = $4`

	// insertLineageSQL writes it when the message's own audit write has
	// not happened yet: finishAuditSQL wrote the message's audit row, so
	// that write will add no lineage of its own.
	insertLineageSQL = `
INSERT INTO audit_records (received_month, received_at, source, partition, position, message_id,
	ordinal, hotel_code, confirmation, version, action, message_type, archive_key, outcome, latency)
VALUES (resingest_month($8::timestamptz), $8, $1, $2, $3, $9, $4, $5, $7, $10, $11, $12, $13, $6,
	now() - $8::timestamptz)`
)

// finishLineage records what became of a held record in its message's
// lineage. It runs after finishAudit, so the message's audit row exists
// and its lineage, if its own write made it, is visible.
func finishLineage(ctx context.Context, tx pgx.Tx, r *PendingRecord, d PendingDone) error {
	args := []any{r.Source, r.Partition, r.Position, int32(r.Ordinal), d.HotelCode, d.Outcome,
		r.Reservation.Confirmation}
	tag, err := tx.Exec(ctx, finishLineageSQL, args...)
	if err != nil || tag.RowsAffected() > 0 {
		return err
	}
	_, err = tx.Exec(ctx, insertLineageSQL, append(args, r.ReceivedAt, r.MessageID, r.Version,
		r.Reservation.Action, r.Reservation.MessageType, r.ArchiveKey)...)
	return err
}

// finishAudit gives the audit row of d's message its outcome, re-running
// finishAuditSQL while a concurrent move or write hides the row from it.
func finishAudit(ctx context.Context, tx pgx.Tx, r *PendingRecord, d PendingDone) error {
	for range finishAuditAttempts {
		var done bool
		if err := tx.QueryRow(ctx, finishAuditSQL, r.MessageID, r.Source, r.Partition, r.Position,
			r.ReceivedAt, d.Outcome, d.Error).Scan(&done); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
	return sinks.Retryable(fmt.Errorf("audit row of %s %s/%s: %w", r.Source, r.Partition, r.Position, errAuditRowMoving))
}

// CountPending returns how many records are held (for tests and metrics).
func (s *Sink) CountPending(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pending_records`).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count held records: %w", classify(err))
	}
	return n, nil
}

// PendingStats returns how many records are held and when the oldest of
// them was held (the zero time when none is): the worker's pending gauges.
func (s *Sink) PendingStats(ctx context.Context) (records int, oldest time.Time, err error) {
	var first *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT count(*), min(held_at) FROM pending_records`).Scan(&records, &first); err != nil {
		return 0, time.Time{}, fmt.Errorf("postgres: held records: %w", classify(err))
	}
	if first != nil {
		oldest = *first
	}
	return records, oldest, nil
}
