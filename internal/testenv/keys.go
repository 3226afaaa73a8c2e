package testenv

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/resingest/resingest/pii"
)

// Keyring initialises PII keys in store (a migrated Postgres database:
// sinks/postgres implements pii.KeyStore) under a new local key file in a
// temporary folder, and loads them. The key file is returned too, for
// tests that wrap more keys or rotate.
func Keyring(t testing.TB, store pii.KeyStore) (*pii.Keyring, *pii.LocalKEK) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kek, err := pii.CreateLocalKEK(filepath.Join(t.TempDir(), "kek.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pii.Init(ctx, store, kek); err != nil {
		t.Fatalf("init PII keys: %v", err)
	}
	kr, err := pii.Load(ctx, store, kek)
	if err != nil {
		t.Fatalf("load PII keys: %v", err)
	}
	return kr, kek
}
