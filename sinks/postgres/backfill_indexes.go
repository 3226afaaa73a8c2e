package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Deferred indexes (migrate.Options.DeferIndexes): a bulk load drops the
// reservation tables' secondary indexes and builds them when it ends.
// Only non-unique indexes are dropped: the primary keys stay, so the
// version guard (ON CONFLICT) of the live pipeline and of the merge keeps
// working while the load runs. What is owed is recorded in
// backfill_deferred_indexes (migration 0006), so an interrupted load's
// indexes are built by the next run. When to defer is the backfill's
// decision (package migrate); this file holds the statements.

// deferredTables are the tables whose secondary indexes a load defers.
var deferredTables = []string{"reservations", "reservation_room_stays", "reservation_guests", "reservation_external_ids"}

// secondaryIndexesSQL lists the non-unique indexes of the tables $1 in
// the current schema, with their definitions.
const secondaryIndexesSQL = `
SELECT i.relname, t.relname, pg_get_indexdef(i.oid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relnamespace = current_schema()::regnamespace
	AND t.relname = ANY($1) AND NOT x.indisunique AND NOT x.indisprimary
ORDER BY i.relname`

// deferredStateSQL: how many indexes are owed, and whether the
// reservations table is empty.
const deferredStateSQL = `SELECT (SELECT count(*) FROM backfill_deferred_indexes),
		NOT EXISTS (SELECT 1 FROM reservations)`

const (
	recordDeferredSQL = `INSERT INTO backfill_deferred_indexes (name, table_name, definition)
			VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`
	listDeferredSQL   = `SELECT name, definition FROM backfill_deferred_indexes ORDER BY name`
	deleteDeferredSQL = `DELETE FROM backfill_deferred_indexes WHERE name = $1`
	indexExistsSQL    = `SELECT to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1)) IS NOT NULL`
)

// buildIndexSQL tunes the transaction that builds an index: memory for
// the sort (with the default 64 MB it spills to disk), and no statement
// timeout a connection may carry. SET LOCAL: it ends with the transaction.
const buildIndexSQL = `SET LOCAL maintenance_work_mem = '512MB'; SET LOCAL statement_timeout = 0`

// DeferredIndex is a secondary index a load dropped and still owes.
type DeferredIndex struct {
	Name, Definition string
}

// DeferredIndexState returns how many indexes an earlier load deferred
// and has not built yet, and whether the reservations table is empty.
func (s *Sink) DeferredIndexState(ctx context.Context) (pending int, empty bool, err error) {
	err = s.pool.QueryRow(ctx, deferredStateSQL).Scan(&pending, &empty)
	return pending, empty, err
}

// DeferSecondaryIndexes drops the reservation tables' secondary indexes,
// recording each in backfill_deferred_indexes, in one transaction, and
// returns how many it dropped.
func (s *Sink) DeferSecondaryIndexes(ctx context.Context) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	rows, err := tx.Query(ctx, secondaryIndexesSQL, deferredTables)
	if err != nil {
		return 0, err
	}
	var names, tables, defs []string
	var name, table, def string
	_, err = pgx.ForEachRow(rows, []any{&name, &table, &def}, func() error {
		names, tables, defs = append(names, name), append(tables, table), append(defs, def)
		return nil
	})
	if err != nil {
		return 0, err
	}
	for i := range names {
		if _, err := tx.Exec(ctx, recordDeferredSQL, names[i], tables[i], defs[i]); err != nil {
			return 0, fmt.Errorf("index %s: %w", names[i], err)
		}
		if _, err := tx.Exec(ctx, "DROP INDEX "+pgx.Identifier{names[i]}.Sanitize()); err != nil {
			return 0, fmt.Errorf("index %s: %w", names[i], err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, err
	}
	return len(names), nil
}

// DeferredIndexes lists the indexes owed (backfill_deferred_indexes), by
// name.
func (s *Sink) DeferredIndexes(ctx context.Context) ([]DeferredIndex, error) {
	rows, err := s.pool.Query(ctx, listDeferredSQL)
	if err != nil {
		return nil, err
	}
	var out []DeferredIndex
	var ix DeferredIndex
	if _, err := pgx.ForEachRow(rows, []any{&ix.Name, &ix.Definition}, func() error {
		out = append(out, ix)
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// errIndexGone: the row was deleted by a concurrent build.
var errIndexGone = errors.New("already built")

// BuildDeferredIndex runs a deferred index's definition and deletes its
// row, in one transaction on a connection of its own. An index that
// exists already (created by hand) is left as it is; one whose row is
// gone (built by a concurrent build) is not built again. A build blocks
// writes to its table (not reads) while it runs.
func (s *Sink) BuildDeferredIndex(ctx context.Context, ix DeferredIndex) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, buildIndexSQL); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, deleteDeferredSQL, ix.Name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errIndexGone
		}
		var exists bool
		if err := tx.QueryRow(ctx, indexExistsSQL, ix.Name).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return nil
		}
		_, err = tx.Exec(ctx, ix.Definition)
		return err
	})
	if errors.Is(err, errIndexGone) {
		return nil
	}
	return err
}
