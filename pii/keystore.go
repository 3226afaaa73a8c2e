package pii

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Purposes of stored keys.
const (
	PurposeData  = "data"  // encrypts field values; rotates
	PurposeIndex = "index" // keys the blind indexes; never rotates
)

// StoredKey is one wrapped key as the key store keeps it. Wrapped is
// useless without the KEK named by KEKID.
type StoredKey struct {
	Version   string // "v1", "v2", ... ("index" for the index key)
	Purpose   string
	KEKID     string
	Wrapped   []byte
	Current   bool // the data key new writes use
	CreatedAt time.Time
}

// KeyStore keeps wrapped keys (sinks/postgres implements it).
type KeyStore interface {
	// Keys returns every stored key.
	Keys(ctx context.Context) ([]StoredKey, error)
	// AddKey stores k; when k.Current it atomically becomes the only
	// current data key. It fails if k.Version exists.
	AddKey(ctx context.Context, k StoredKey) error
}

// Init creates the first data key (v1) and the index key. It fails with
// ErrAlreadyInitialised when keys exist.
func Init(ctx context.Context, store KeyStore, kek KEK) error {
	keys, err := store.Keys(ctx)
	if err != nil {
		return err
	}
	if len(keys) > 0 {
		return ErrAlreadyInitialised
	}
	if err := addKey(ctx, store, kek, "index", PurposeIndex, false); err != nil {
		return err
	}
	return addKey(ctx, store, kek, "v1", PurposeData, true)
}

// Rotate adds the next data-key version and makes it current; it returns
// the new version. Values sealed under older versions still open.
func Rotate(ctx context.Context, store KeyStore, kek KEK) (string, error) {
	keys, err := store.Keys(ctx)
	if err != nil {
		return "", err
	}
	last := 0
	for _, k := range keys {
		if k.Purpose != PurposeData {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimPrefix(k.Version, "v")); err == nil && n > last {
			last = n
		}
	}
	if last == 0 {
		return "", ErrNotInitialised
	}
	version := "v" + strconv.Itoa(last+1)
	return version, addKey(ctx, store, kek, version, PurposeData, true)
}

func addKey(ctx context.Context, store KeyStore, kek KEK, version, purpose string, current bool) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("pii: random key: %w", err)
	}
	wrapped, err := kek.Wrap(ctx, key)
	if err != nil {
		return err
	}
	return store.AddKey(ctx, StoredKey{
		Version: version, Purpose: purpose, KEKID: kek.ID(), Wrapped: wrapped,
		Current: current, CreatedAt: time.Now().UTC(),
	})
}
