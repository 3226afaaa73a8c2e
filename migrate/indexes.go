package migrate

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/resingest/resingest/sinks/postgres"
)

// Deferred indexes (Options.DeferIndexes). Every row the backfill writes
// also goes into four secondary indexes of the reservation tables (by
// hotel and arrival, by confirmation, the guests' two blind indexes; five
// before migration 0012 dropped the external ids' values). Their keys arrive in random order, so each
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
// until the load ends. When to defer is decided here; the statements are
// the store's (sinks/postgres, backfill_indexes.go).

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

// deferIndexes drops the secondary indexes when the mode asks for it and
// reports how many are deferred now (dropped by this run or an earlier
// one).
func (m *Migrator) deferIndexes(ctx context.Context) (int, error) {
	pending, empty, err := m.pg.DeferredIndexState(ctx)
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
	n, err := m.pg.DeferSecondaryIndexes(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: defer indexes: %w", err)
	}
	if n > 0 {
		m.logger.Info("backfill deferred secondary indexes until the load ends", "indexes", n)
	}
	return pending + n, nil
}

// BuildDeferredIndexes builds every index an earlier load deferred
// (postgres.Sink.DeferredIndexes), Workers at a time, each in the
// transaction that deletes its row. Migrator.Run calls it when a load
// ends; it is exported for a load that must not be re-run. A build blocks
// writes to its table (not reads) while it runs.
func (m *Migrator) BuildDeferredIndexes(ctx context.Context) error {
	owed, err := m.pg.DeferredIndexes(ctx)
	if err != nil {
		return fmt.Errorf("migrate: deferred indexes: %w", err)
	}
	if len(owed) == 0 {
		return nil
	}
	start := time.Now()
	m.logger.Info("backfill building deferred indexes", "indexes", len(owed))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.opts.Workers)
	for _, ix := range owed {
		g.Go(func() error { return m.buildIndex(gctx, ix) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	m.logger.Info("backfill built deferred indexes", "indexes", len(owed), "seconds", time.Since(start).Seconds())
	return nil
}

// buildIndex builds one deferred index (postgres.Sink.BuildDeferredIndex:
// one that exists already, or was built by a concurrent build, is left as
// it is).
func (m *Migrator) buildIndex(ctx context.Context, ix postgres.DeferredIndex) error {
	start := time.Now()
	if err := m.pg.BuildDeferredIndex(ctx, ix); err != nil {
		return fmt.Errorf("migrate: build index %s: %w", ix.Name, err)
	}
	m.logger.Info("backfill built index", "index", ix.Name, "seconds", time.Since(start).Seconds())
	return nil
}
