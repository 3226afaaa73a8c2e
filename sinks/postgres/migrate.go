package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one versioned schema change: migrations/NNNN_name.sql.
type Migration struct {
	Version int    // NNNN
	Name    string // the file name
	SQL     string
}

// migrationLockKey is the advisory lock ("resinges" in ASCII) that
// serialises concurrent migrators of one database.
const migrationLockKey int64 = 0x72657369_6e676573

var migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// ErrBadMigration is wrapped when the embedded migrations are misnamed or
// two share a version: a build mistake, caught by the tests.
var ErrBadMigration = errors.New("postgres: bad migration file")

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: read migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("%w: %s is not NNNN_name.sql", ErrBadMigration, e.Name())
		}
		v, _ := strconv.Atoi(m[1]) // four digits: cannot fail
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("%w: %s and %s share version %d", ErrBadMigration, other, e.Name(), v)
		}
		seen[v] = e.Name()
		sql, err := fs.ReadFile(migrationFiles, path.Join("migrations", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("postgres: read migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(sql)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// txBeginner is what Migrate needs: *pgxpool.Pool, *pgx.Conn and pgx.Tx
// all have it.
type txBeginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Migrate applies the embedded migrations that db's schema (the first one
// on its search_path) has not applied yet, each in its own transaction, and
// returns those it applied. Applied versions are kept in schema_migrations;
// re-running is a no-op. Concurrent migrators are safe: each transaction
// holds an advisory lock while it checks and applies its file.
func Migrate(ctx context.Context, db txBeginner) ([]Migration, error) {
	all, err := Migrations()
	if err != nil {
		return nil, err
	}
	var applied []Migration
	for _, m := range all {
		done, err := applyOne(ctx, db, m)
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, m)
		}
	}
	return applied, nil
}

// MigrateURL opens one connection to url, migrates and closes it.
func MigrateURL(ctx context.Context, url string) ([]Migration, error) {
	conn, err := ConnectURL(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return Migrate(ctx, conn)
}

// ConnectURL opens one connection to url configured as every session of
// resingest is (ParseConnConfig). The caller closes it.
func ConnectURL(ctx context.Context, url string) (*pgx.Conn, error) {
	cfg, err := ParseConnConfig(url)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", classify(err))
	}
	return conn, nil
}

// applyOne applies m unless it is recorded already; it reports whether it
// applied it.
func applyOne(ctx context.Context, db txBeginner, m Migration) (applied bool, err error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("postgres: migration %s: begin: %w", m.Name, classify(err))
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	// The lock is held to the end of the transaction, so a concurrent
	// migrator waits here and then sees this file recorded.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
		return false, fmt.Errorf("postgres: migration %s: lock: %w", m.Name, classify(err))
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return false, fmt.Errorf("postgres: migration %s: create schema_migrations: %w", m.Name, classify(err))
	}
	var done bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&done); err != nil {
		return false, fmt.Errorf("postgres: migration %s: check: %w", m.Name, classify(err))
	}
	if done {
		return false, tx.Rollback(ctx)
	}
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("postgres: migration %s: %w", m.Name, classify(err))
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
		return false, fmt.Errorf("postgres: migration %s: record: %w", m.Name, classify(err))
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("postgres: migration %s: commit: %w", m.Name, classify(err))
	}
	return true, nil
}
