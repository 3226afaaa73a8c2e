package postgres

import (
	"context"
	"fmt"

	"github.com/resingest/resingest/pii"
)

// Keys implements pii.KeyStore: every wrapped key in pii_keys.
func (s *Sink) Keys(ctx context.Context) ([]pii.StoredKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT version, purpose, kek_id, wrapped, is_current, created_at FROM pii_keys ORDER BY created_at, version`)
	if err != nil {
		return nil, fmt.Errorf("postgres: read pii keys: %w", classify(err))
	}
	defer rows.Close()
	var out []pii.StoredKey
	for rows.Next() {
		var k pii.StoredKey
		if err := rows.Scan(&k.Version, &k.Purpose, &k.KEKID, &k.Wrapped, &k.Current, &k.CreatedAt); err != nil {
			return nil, fmt.Errorf("postgres: read pii keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: read pii keys: %w", classify(err))
	}
	return out, nil
}

// AddKey implements pii.KeyStore. A current key replaces the previous
// current one in the same transaction, so exactly one is current.
func (s *Sink) AddKey(ctx context.Context, k pii.StoredKey) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: add pii key: %w", classify(err))
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after Commit
	if k.Current {
		if _, err := tx.Exec(ctx, `UPDATE pii_keys SET is_current = false WHERE is_current`); err != nil {
			return fmt.Errorf("postgres: add pii key: %w", classify(err))
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO pii_keys (version, purpose, kek_id, wrapped, is_current, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.Version, k.Purpose, k.KEKID, k.Wrapped, k.Current, k.CreatedAt); err != nil {
		return fmt.Errorf("postgres: add pii key %s: %w", k.Version, classify(err))
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: add pii key: %w", classify(err))
	}
	return nil
}
