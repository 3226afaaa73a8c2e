// Package pii protects guests' personal data wherever resingest keeps it.
//
// It is the one mechanism the stream, the backfill, the API and the logs
// share:
//
//   - Field-level envelope encryption: each guest field is sealed with
//     AES-256-GCM under a data key of a numbered key version; the value
//     records its version ("pii1:<version>:<base64>"), and the field's name
//     is authenticated with it, so a value cannot be moved to another
//     field. Data keys are stored wrapped by a key-encryption key (KEK):
//     AWS KMS in production, a local key file (mode 0600) in development.
//   - Blind indexes: keyed HMAC-SHA256 of a normalised e-mail address or
//     loyalty number, so readers find a guest's reservations without
//     decrypting or storing plain values. The index key never rotates.
//   - Rotation: a new data-key version takes new writes while every older
//     version still decrypts; re-encryption rewrites old values.
//   - Logging: NewLogHandler masks personal data before any other slog
//     handler sees it.
//
// A Keyring is safe for concurrent use.
package pii
