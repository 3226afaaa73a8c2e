package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
)

// Deferred indexes (Options.DeferIndexes). Every row the backfill writes
// also goes into five secondary indexes of the reservation tables (by
// hotel and arrival, by confirmation, the guests' blind indexes, the
// external ids' values). Their keys arrive in random order, so each
// insert lands on a random page: measured on 1.8 million reservations,
// maintaining them took 27 s of the server's time, building them after
// the load 8.6 s. PostgreSQL's own advice for bulk loads ("Populating a
// Database") is the same: drop the indexes, load, create them again.
//
// Only non-unique indexes are dropped: the primary keys stay, so the
// version guard (ON CONFLICT) of the live pipeline and of the merge keeps
// working while the load runs. What the live pipeline writes meanwhile
// is indexed when the indexes are built again. What suffers is reads:
// the API's lookups by confirmation, guest or itinerary scan the tables
// until the load ends.

// IndexMode says when a load defers the secondary indexes.
type IndexMode string

const (
	// IndexesAuto defers them when the reservations table is empty as
	// the load starts (a first load: nobody reads what is not there yet),
	// or when an earlier, interrupted load deferred them.
	IndexesAuto IndexMode = "auto"
	// IndexesDefer always defers them.
	IndexesDefer IndexMode = "always"
	// IndexesKeep never drops them (indexes an interrupted load deferred
	// are still built at the end).
	IndexesKeep IndexMode = "never"
)

// ParseIndexMode checks a --defer-indexes value.
func ParseIndexMode(s string) (IndexMode, error) {
	switch m := IndexMode(s); m {
	case IndexesAuto, IndexesDefer, IndexesKeep:
		return m, nil
	case "":
		return IndexesAuto, nil
	}
	return "", fmt.Errorf("migrate: --defer-indexes %q: want auto, always or never", s)
}

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

// deferIndexes drops the secondary indexes when the mode asks for it and
// reports how many are deferred now (dropped by this run or an earlier
// one).
func (m *Migrator) deferIndexes(ctx context.Context) (int, error) {
	var pending int
	var empty bool
	err := m.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM backfill_deferred_indexes),
		NOT EXISTS (SELECT 1 FROM reservations)`).Scan(&pending, &empty)
	if err != nil {
		return 0, fmt.Errorf("migrate: deferred indexes: %w", err)
	}
	// An interrupted load dropped its indexes in one transaction, so what
	// it owes is all of them; an interrupted build already rebuilt some,
	// which dropping again would only cost another build.
	mode := m.opts.DeferIndexes
	if mode == IndexesKeep || pending > 0 || (mode == IndexesAuto && !empty) {
		return pending, nil
	}
	tx, err := m.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: defer indexes: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	rows, err := tx.Query(ctx, secondaryIndexesSQL, deferredTables)
	if err != nil {
		return 0, fmt.Errorf("migrate: defer indexes: %w", err)
	}
	var names, tables, defs []string
	var name, table, def string
	_, err = pgx.ForEachRow(rows, []any{&name, &table, &def}, func() error {
		names, tables, defs = append(names, name), append(tables, table), append(defs, def)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("migrate: defer indexes: %w", err)
	}
	for i := range names {
		if _, err := tx.Exec(ctx, `INSERT INTO backfill_deferred_indexes (name, table_name, definition)
			VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`, names[i], tables[i], defs[i]); err != nil {
			return 0, fmt.Errorf("migrate: defer index %s: %w", names[i], err)
		}
		if _, err := tx.Exec(ctx, "DROP INDEX "+pgx.Identifier{names[i]}.Sanitize()); err != nil {
			return 0, fmt.Errorf("migrate: defer index %s: %w", names[i], err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("migrate: defer indexes: %w", err)
	}
	if len(names) > 0 {
		m.logger.Info("backfill deferred secondary indexes until the load ends", "indexes", len(names))
	}
	return pending + len(names), nil
}

// buildIndexSQL tunes the transaction that builds an index: memory for
// the sort (with the default 64 MB it spills to disk), and no statement
// timeout a connection may carry. SET LOCAL: it ends with the transaction.
const buildIndexSQL = `SET LOCAL maintenance_work_mem = '512MB'; SET LOCAL statement_timeout = 0`

// BuildDeferredIndexes builds every index an earlier load deferred
// (backfill_deferred_indexes), Workers at a time, each in the transaction
// that deletes its row. Migrator.Run calls it when a load ends; it is
// exported for a load that must not be re-run. A build blocks writes to its
// table (not reads) while it runs.
func (m *Migrator) BuildDeferredIndexes(ctx context.Context) error {
	rows, err := m.pool.Query(ctx, `SELECT name, definition FROM backfill_deferred_indexes ORDER BY name`)
	if err != nil {
		return fmt.Errorf("migrate: deferred indexes: %w", err)
	}
	var names, defs []string
	var name, def string
	if _, err := pgx.ForEachRow(rows, []any{&name, &def}, func() error {
		names, defs = append(names, name), append(defs, def)
		return nil
	}); err != nil {
		return fmt.Errorf("migrate: deferred indexes: %w", err)
	}
	if len(names) == 0 {
		return nil
	}
	start := time.Now()
	m.logger.Info("backfill building deferred indexes", "indexes", len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.opts.Workers)
	for i := range names {
		g.Go(func() error { return m.buildIndex(gctx, names[i], defs[i]) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	m.logger.Info("backfill built deferred indexes", "indexes", len(names), "seconds", time.Since(start).Seconds())
	return nil
}

// errIndexGone: the row was deleted by a concurrent build.
var errIndexGone = errors.New("already built")

// buildIndex runs one deferred index's definition and deletes its row,
// in one transaction. An index that exists already (created by hand) is
// left as it is.
func (m *Migrator) buildIndex(ctx context.Context, name, def string) error {
	conn, err := m.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: build index %s: %w", name, err)
	}
	defer conn.Release()
	start := time.Now()
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, buildIndexSQL); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM backfill_deferred_indexes WHERE name = $1`, name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errIndexGone
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1)) IS NOT NULL`, name).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return nil
		}
		_, err = tx.Exec(ctx, def)
		return err
	})
	if err != nil && !errors.Is(err, errIndexGone) {
		return fmt.Errorf("migrate: build index %s: %w", name, err)
	}
	m.logger.Info("backfill built index", "index", name, "seconds", time.Since(start).Seconds())
	return nil
}
