package pii

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"
)

// SealedPrefix starts every sealed value: "pii1:<version>:<base64>".
const SealedPrefix = "pii1:"

// Keyring seals and opens field values and computes blind indexes. It is
// safe for concurrent use. When a value names a key version the keyring
// does not hold (another worker rotated), Open reloads the keys from the
// store, at most once per reloadInterval.
type Keyring struct {
	store KeyStore
	kek   KEK

	mu         sync.RWMutex
	data       map[string]cipher.AEAD
	current    string
	index      []byte
	lastReload time.Time
}

// reloadInterval spaces reloads caused by unknown versions (a var for
// tests).
var reloadInterval = 5 * time.Second

// Load unwraps every key of store with kek. ctx bounds the load.
func Load(ctx context.Context, store KeyStore, kek KEK) (*Keyring, error) {
	k := &Keyring{store: store, kek: kek}
	if err := k.Reload(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// Reload reads the key store again (after a rotation elsewhere).
func (k *Keyring) Reload(ctx context.Context) error {
	stored, err := k.store.Keys(ctx)
	if err != nil {
		return fmt.Errorf("pii: read keys: %w", err)
	}
	if len(stored) == 0 {
		return ErrNotInitialised
	}
	data := map[string]cipher.AEAD{}
	var current string
	var index []byte
	for _, s := range stored {
		if s.KEKID != k.kek.ID() {
			return fmt.Errorf("pii: key %s was wrapped by %s, not by the configured %s", s.Version, s.KEKID, k.kek.ID())
		}
		plain, err := k.kek.Unwrap(ctx, s.Wrapped)
		if err != nil {
			return fmt.Errorf("pii: key %s: %w", s.Version, err)
		}
		switch s.Purpose {
		case PurposeIndex:
			index = plain
		case PurposeData:
			aead, err := newAEAD(plain)
			if err != nil {
				return err
			}
			data[s.Version] = aead
			if s.Current {
				current = s.Version
			}
		}
	}
	if current == "" || index == nil {
		return fmt.Errorf("pii: the key store has no current data key or no index key")
	}
	k.mu.Lock()
	k.data, k.current, k.index, k.lastReload = data, current, index, time.Now()
	k.mu.Unlock()
	return nil
}

// CurrentVersion is the key version Seal uses.
func (k *Keyring) CurrentVersion() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current
}

// Seal encrypts plain for field under the current key version. An empty
// value stays empty: absence is not secret and keeps the record's rules.
func (k *Keyring) Seal(field, plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	k.mu.RLock()
	version, aead := k.current, k.data[k.current]
	k.mu.RUnlock()
	out, err := seal(aead, []byte(plain), aad(field, version))
	if err != nil {
		return "", err
	}
	return SealedPrefix + version + ":" + base64.RawStdEncoding.EncodeToString(out), nil
}

// aad binds a value to its field and key version.
func aad(field, version string) []byte { return []byte(field + "\x00" + version) }

// VersionOf returns the key version a sealed value names; ok is false for
// a plain (legacy or empty) value.
func VersionOf(value string) (version string, ok bool) {
	rest, found := strings.CutPrefix(value, SealedPrefix)
	if !found {
		return "", false
	}
	version, _, found = strings.Cut(rest, ":")
	return version, found
}

// IsSealed reports whether value is a sealed value.
func IsSealed(value string) bool { return strings.HasPrefix(value, SealedPrefix) }

// Open decrypts a value sealed for field. A plain value (written before
// encryption was enabled) is returned as is. Errors name the field and
// never the value: *KeyVersionError, or *FieldError wrapping ErrTampered
// or ErrMalformed.
func (k *Keyring) Open(ctx context.Context, field, value string) (string, error) {
	if !IsSealed(value) {
		return value, nil
	}
	rest := value[len(SealedPrefix):]
	version, body, ok := strings.Cut(rest, ":")
	if !ok || version == "" {
		return "", &FieldError{Field: field, Err: ErrMalformed}
	}
	aead, err := k.aeadFor(ctx, field, version)
	if err != nil {
		return "", err
	}
	raw, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil {
		return "", &FieldError{Field: field, Err: ErrMalformed}
	}
	plain, err := open(aead, raw, aad(field, version))
	if err != nil {
		return "", &FieldError{Field: field, Err: err}
	}
	return string(plain), nil
}

func (k *Keyring) aeadFor(ctx context.Context, field, version string) (cipher.AEAD, error) {
	k.mu.RLock()
	aead, ok := k.data[version]
	stale := time.Since(k.lastReload) > reloadInterval
	k.mu.RUnlock()
	if ok {
		return aead, nil
	}
	if stale {
		if err := k.Reload(ctx); err != nil {
			return nil, err
		}
		k.mu.RLock()
		aead, ok = k.data[version]
		k.mu.RUnlock()
		if ok {
			return aead, nil
		}
	}
	return nil, &KeyVersionError{Field: field, Version: version}
}

// Blind-index kinds.
const (
	IndexEmail   = "email"
	IndexLoyalty = "loyalty"
)

// BlindIndex returns the keyed HMAC-SHA256 of the normalised value
// (32 hex digits), or "" for an empty value. Equal inputs give equal
// indexes under one keyring, and the index reveals nothing without its key.
func (k *Keyring) BlindIndex(kind, value string) string {
	norm := Normalize(kind, value)
	if norm == "" {
		return ""
	}
	k.mu.RLock()
	mac := hmac.New(sha256.New, k.index)
	k.mu.RUnlock()
	mac.Write([]byte(kind + "\x00" + norm))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// dropSeparators removes the spaces and dashes of grouped numbers.
var dropSeparators = strings.NewReplacer(" ", "", "-", "")

// Normalize is how a value is normalised before indexing: e-mail lower
// case without surrounding space, loyalty numbers upper case without
// spaces or dashes.
func Normalize(kind, value string) string {
	switch kind {
	case IndexLoyalty:
		return strings.ToUpper(dropSeparators.Replace(strings.TrimSpace(value)))
	default:
		return strings.ToLower(strings.TrimSpace(value))
	}
}
