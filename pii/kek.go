package pii

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// KEK wraps and unwraps data keys (key-encryption key).
type KEK interface {
	// ID names the KEK; it is stored beside every key it wrapped.
	ID() string
	Wrap(ctx context.Context, plain []byte) ([]byte, error)
	Unwrap(ctx context.Context, wrapped []byte) ([]byte, error)
}

// wrapContext is authenticated with every wrapped data key.
const wrapContext = "resingest-data-key"

// LocalKEK is a key-encryption key held in a local file, for development
// and tests. Production uses KMSKEK.
type LocalKEK struct {
	id   string
	aead cipher.AEAD
}

type localKEKFile struct {
	Format string `json:"format"`
	ID     string `json:"id"`
	Key    string `json:"key"`
}

const localKEKFormat = "resingest-kek/1"

// CreateLocalKEK writes a new random key file at path with mode 0600. It
// refuses to overwrite an existing file: the keys it wrapped would be lost.
func CreateLocalKEK(path string) (*LocalKEK, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("pii: random key: %w", err)
	}
	idb := make([]byte, 6)
	_, _ = rand.Read(idb)
	file := localKEKFile{Format: localKEKFormat, ID: "local-" + hex.EncodeToString(idb), Key: base64.StdEncoding.EncodeToString(key)}
	data, _ := json.MarshalIndent(file, "", "  ")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("pii: key file %s exists; refusing to overwrite it (the data keys it wraps would be lost)", path)
		}
		return nil, fmt.Errorf("pii: create key file: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return nil, fmt.Errorf("pii: write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("pii: write key file: %w", err)
	}
	return newLocalKEK(file.ID, key)
}

// LoadLocalKEK reads a key file written by CreateLocalKEK. A file that
// group or others may read is refused.
func LoadLocalKEK(path string) (*LocalKEK, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("pii: key file: %w", err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("pii: key file %s has mode %04o: others may read it; run chmod 600 %s", path, perm, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pii: key file: %w", err)
	}
	var file localKEKFile
	if err := json.Unmarshal(data, &file); err != nil || file.Format != localKEKFormat {
		return nil, fmt.Errorf("pii: key file %s is not a resingest key file (format %s)", path, localKEKFormat)
	}
	key, err := base64.StdEncoding.DecodeString(file.Key)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("pii: key file %s: the key is not 32 base64-encoded bytes", path)
	}
	return newLocalKEK(file.ID, key)
}

func newLocalKEK(id string, key []byte) (*LocalKEK, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &LocalKEK{id: id, aead: aead}, nil
}

// ID implements KEK.
func (k *LocalKEK) ID() string { return k.id }

// Wrap implements KEK.
func (k *LocalKEK) Wrap(_ context.Context, plain []byte) ([]byte, error) {
	return seal(k.aead, plain, []byte(wrapContext))
}

// Unwrap implements KEK.
func (k *LocalKEK) Unwrap(_ context.Context, wrapped []byte) ([]byte, error) {
	out, err := open(k.aead, wrapped, []byte(wrapContext))
	if err != nil {
		return nil, fmt.Errorf("pii: unwrap data key with %s: %w", k.id, err)
	}
	return out, nil
}

// KMSAPI is the part of the AWS KMS client KMSKEK uses.
type KMSAPI interface {
	Encrypt(ctx context.Context, in *kms.EncryptInput, opts ...func(*kms.Options)) (*kms.EncryptOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// KMSKEK wraps data keys with an AWS KMS key; the plain data keys live
// only in memory.
type KMSKEK struct {
	client KMSAPI
	keyID  string
}

// NewKMSKEK returns a KEK for the KMS key keyID (id, ARN or alias).
func NewKMSKEK(client KMSAPI, keyID string) *KMSKEK { return &KMSKEK{client: client, keyID: keyID} }

// ID implements KEK.
func (k *KMSKEK) ID() string { return "kms:" + k.keyID }

func (k *KMSKEK) encryptionContext() map[string]string {
	return map[string]string{"purpose": wrapContext}
}

// Wrap implements KEK.
func (k *KMSKEK) Wrap(ctx context.Context, plain []byte) ([]byte, error) {
	out, err := k.client.Encrypt(ctx, &kms.EncryptInput{KeyId: &k.keyID, Plaintext: plain, EncryptionContext: k.encryptionContext()})
	if err != nil {
		return nil, fmt.Errorf("pii: kms encrypt with %s: %w", k.keyID, kmsError(ctx, k.keyID, err))
	}
	return out.CiphertextBlob, nil
}

// Unwrap implements KEK.
func (k *KMSKEK) Unwrap(ctx context.Context, wrapped []byte) ([]byte, error) {
	out, err := k.client.Decrypt(ctx, &kms.DecryptInput{KeyId: &k.keyID, CiphertextBlob: wrapped, EncryptionContext: k.encryptionContext()})
	if err != nil {
		return nil, fmt.Errorf("pii: kms decrypt with %s: %w", k.keyID, kmsError(ctx, k.keyID, err))
	}
	return out.Plaintext, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("pii: %w", err)
	}
	return cipher.NewGCM(block)
}

// seal returns nonce || ciphertext || tag.
func seal(aead cipher.AEAD, plain, aad []byte) ([]byte, error) {
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("pii: nonce: %w", err)
	}
	return aead.Seal(out, out, plain, aad), nil
}

func open(aead cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return nil, ErrMalformed
	}
	out, err := aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrTampered
	}
	return out, nil
}
