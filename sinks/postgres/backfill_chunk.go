package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/reservation"
)

// ChunkWrite is one chunk of a backfill: what one transaction writes.
type ChunkWrite struct {
	// Rows are the chunk's newest row per key, in key order (hotel code,
	// then confirmation, bytewise), guest fields already protected
	// (sealed or indexed). Empty: only rejects and progress are written.
	Rows []BackfillRow
	// TryDirect copies Rows straight into the tables first (direct COPY,
	// backfill_copy.go): for keys no other chunk of the load holds. A key
	// already stored falls back to the staged merge.
	TryDirect bool
	// Rejects are malformed rows of the file RejectsPath.
	RejectsPath string
	Rejects     []BackfillReject
	// Progress is recorded in the same transaction.
	Progress BackfillProgress
	// BeforeCommit, when set, runs last in the transaction, before the
	// commit, with the keys whose row the chunk wrote (when there are
	// any): the batch-mode DynamoDB write, so that a crash in between
	// redoes the chunk instead of skipping its items. Its error rolls the
	// chunk back and is returned as is.
	BeforeCommit func(ctx context.Context, keys []reservation.Key) error
}

// ChunkResult is what a chunk wrote.
type ChunkResult struct {
	// Keys are the keys whose row was written (newer than what the store
	// held, or new), in key order.
	Keys []reservation.Key
	// DirectMissed: TryDirect met a stored key and the chunk took the
	// staged merge. Set also when WriteChunk fails after the fallback.
	DirectMissed bool
}

// WriteChunk writes a chunk in one transaction: its rows (by direct COPY
// when asked and possible, else staged and merged under the version
// guard), its rejects, its
// progress, then BeforeCommit, then the commit. An error wraps
// ErrTxConflict when running the chunk again may succeed.
func (b *BackfillSession) WriteChunk(ctx context.Context, w ChunkWrite) (ChunkResult, error) {
	res, err := b.writeChunk(ctx, w)
	return res, markConflict(err)
}

func (b *BackfillSession) writeChunk(ctx context.Context, w ChunkWrite) (ChunkResult, error) {
	var res ChunkResult
	tx, err := b.conn.Begin(ctx)
	if err != nil {
		return res, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // no-op after Commit
	if len(w.Rows) > 0 {
		if res.Keys, res.DirectMissed, err = writeRows(ctx, tx, w.Rows, w.TryDirect); err != nil {
			return res, err
		}
	}
	if len(w.Rejects) > 0 {
		lines, reasons := rejectArrays(w.Rejects)
		if _, err := tx.Exec(ctx, rejectsSQL, w.RejectsPath, lines, reasons); err != nil {
			return res, fmt.Errorf("record rejects: %w", err)
		}
	}
	sql, args := w.Progress.progressStmt()
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		return res, fmt.Errorf("record progress: %w", err)
	}
	if w.BeforeCommit != nil && len(res.Keys) > 0 {
		if err := w.BeforeCommit(ctx, res.Keys); err != nil {
			return res, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return res, fmt.Errorf("commit: %w", err)
	}
	return res, nil
}

// rejectArrays splits rejects into the parallel arrays of rejectsSQL.
func rejectArrays(rejects []BackfillReject) ([]int64, []string) {
	lines := make([]int64, len(rejects))
	reasons := make([]string, len(rejects))
	for i, r := range rejects {
		lines[i], reasons[i] = r.Line, r.Reason
	}
	return lines, reasons
}

// writeRows writes a chunk's rows and returns the keys written: straight
// into the tables when direct (copyFresh) and no key is stored yet (else
// missed is true), else copied to the staging table and merged (mergeSQL,
// then mergeUpdatedSQL for the parents it updated).
func writeRows(ctx context.Context, tx pgx.Tx, rows []BackfillRow, direct bool) (keys []reservation.Key, missed bool, err error) {
	if direct {
		fresh, err := copyFresh(ctx, tx, rows)
		if err != nil {
			return nil, false, err
		}
		if fresh {
			keys := make([]reservation.Key, len(rows))
			for i := range rows {
				keys[i] = rows[i].key()
			}
			return keys, false, nil
		}
		missed = true
	}
	// The staging table is the session's: TRUNCATE is cheap and private.
	if _, err := tx.Exec(ctx, truncateStageSQL); err != nil {
		return nil, missed, fmt.Errorf("prepare staging table: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{stageTable}, stageColumns, pgx.CopyFromSlice(len(rows), stageCopy(rows))); err != nil {
		return nil, missed, fmt.Errorf("copy to staging table: %w", err)
	}
	keys, updated, err := merge(ctx, tx)
	if err != nil {
		return nil, missed, err
	}
	if len(updated[0]) > 0 {
		if _, err := tx.Exec(ctx, selectUpdatedSQL, updated[0], updated[1]); err != nil {
			return nil, missed, fmt.Errorf("merge children: %w", err)
		}
		if _, err := tx.Exec(ctx, probeSQL); err != nil {
			return nil, missed, fmt.Errorf("merge children: %w", err)
		}
		if _, err := tx.Exec(ctx, mergeUpdatedSQL); err != nil {
			return nil, missed, fmt.Errorf("merge children: %w", err)
		}
	}
	return keys, missed, nil
}

// merge runs mergeSQL and returns the keys it wrote and, as two parallel
// slices (hotel codes, confirmations), those it updated rather than
// inserted.
func merge(ctx context.Context, tx pgx.Tx) ([]reservation.Key, [2][]string, error) {
	var keys []reservation.Key
	var updated [2][]string
	rs, err := tx.Query(ctx, mergeSQL)
	if err != nil {
		return nil, updated, fmt.Errorf("merge: %w", err)
	}
	var k reservation.Key
	var inserted bool
	_, err = pgx.ForEachRow(rs, []any{&k.HotelCode, &k.Confirmation, &inserted}, func() error {
		keys = append(keys, k)
		if !inserted {
			updated[0] = append(updated[0], k.HotelCode)
			updated[1] = append(updated[1], k.Confirmation)
		}
		return nil
	})
	if err != nil {
		return nil, updated, fmt.Errorf("merge: %w", err)
	}
	return keys, updated, nil
}

// stageCopy feeds COPY the staging-table values of rows.
func stageCopy(rows []BackfillRow) func(int) ([]any, error) {
	return func(i int) ([]any, error) { return rows[i].stageValues(), nil }
}

// stageValues is the row in stageColumns order.
func (r *BackfillRow) stageValues() []any {
	var modified, arrival, departure any
	if r.HasModified {
		modified = r.ModifiedAt
	}
	if r.HasArrival {
		arrival = r.Arrival
	}
	if r.HasDeparture {
		departure = r.Departure
	}
	return []any{
		r.Line, r.HotelCode, r.Confirmation, r.ChainCode, r.Status, r.Action,
		r.CreatedAt, modified, arrival, departure, r.RoomType, r.RatePlan,
		r.Adults, r.Children, r.TotalAfterTax, r.TotalBeforeTax, r.Currency,
		r.GivenName, r.Surname, r.Email, r.Phone, r.LoyaltyNumber,
		r.ItineraryID, r.Version, r.EmailIndex, r.LoyaltyIndex, r.specialRequests(),
	}
}
