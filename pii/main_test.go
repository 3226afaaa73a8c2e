package pii_test

import (
	"path/filepath"
	"testing"

	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/sinks/postgres"
)

// TestMain gives the AWS SDK dummy credentials and removes the binary the
// end-to-end test builds.
func TestMain(m *testing.M) { e2e.Main(m) }

// newStore returns a real Postgres key store in a fresh database.
func newStore(t testing.TB) *postgres.Sink {
	t.Helper()
	ctx := t.Context()
	pg, err := postgres.New(ctx, testenv.PostgresSchema(t), postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	if _, err := pg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return pg
}

// newKEK writes a local key file in a temporary folder.
func newKEK(t testing.TB) (*pii.LocalKEK, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kek.json")
	kek, err := pii.CreateLocalKEK(path)
	if err != nil {
		t.Fatal(err)
	}
	return kek, path
}

// newKeyring initialises keys in a fresh store and loads them.
func newKeyring(t *testing.T) (*pii.Keyring, *postgres.Sink, pii.KEK) { return newKeyringB(t) }

// newKeyringB is newKeyring for tests and benchmarks.
func newKeyringB(t testing.TB) (*pii.Keyring, *postgres.Sink, pii.KEK) {
	t.Helper()
	store := newStore(t)
	kr, kek := testenv.Keyring(t, store)
	return kr, store, kek
}
