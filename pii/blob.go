package pii

import (
	"bytes"
	"context"
)

// blobMagic starts a sealed blob: magic, one byte of version length, the
// version, then nonce || ciphertext || tag.
var blobMagic = []byte("RSPII1")

// SealBlob encrypts a whole object (an archive file, a dead letter) under
// the current key version, bound to purpose (e.g. the object key).
func (k *Keyring) SealBlob(purpose string, plain []byte) ([]byte, error) {
	k.mu.RLock()
	version, aead := k.current, k.data[k.current]
	k.mu.RUnlock()
	head := append(append(append([]byte{}, blobMagic...), byte(len(version))), version...)
	sealed, err := seal(aead, plain, aad(purpose, version))
	if err != nil {
		return nil, err
	}
	return append(head, sealed...), nil
}

// IsSealedBlob reports whether b was written by SealBlob.
func IsSealedBlob(b []byte) bool { return bytes.HasPrefix(b, blobMagic) }

// OpenBlob decrypts a blob sealed for purpose; a blob that is not sealed
// is returned as is.
func (k *Keyring) OpenBlob(ctx context.Context, purpose string, b []byte) ([]byte, error) {
	if !IsSealedBlob(b) {
		return b, nil
	}
	rest := b[len(blobMagic):]
	if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
		return nil, &FieldError{Field: purpose, Err: ErrMalformed}
	}
	version := string(rest[1 : 1+int(rest[0])])
	aead, err := k.aeadFor(ctx, purpose, version)
	if err != nil {
		return nil, err
	}
	plain, err := open(aead, rest[1+int(rest[0]):], aad(purpose, version))
	if err != nil {
		return nil, &FieldError{Field: purpose, Err: err}
	}
	return plain, nil
}
