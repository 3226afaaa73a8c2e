// Package postgres is the Postgres sink of resingest: it stores canonical
// reservations in normalised tables (reservations, room stays, guests,
// external ids), keeps the audit trail and the dead letters, and owns the
// versioned SQL schema (migrations/NNNN_name.sql, applied by Migrate).
//
// Writes are idempotent and version-guarded: a record replaces the stored
// one only when its version (reservation.Version.String(), compared as
// bytes) is greater. A batch of records is one transaction of two
// statements over unnest()ed array parameters: the first upserts the
// parents (locking them) and reports, per record, whether it was stored and
// which version was there before; the second replaces the children of the
// parents written, in a snapshot that sees every child row committed
// before the parent locks were taken.
//
// Errors are classified for the pipeline: connection losses, serialization
// failures, deadlocks, shutdowns and connection limits are marked
// sinks.Retryable; data and constraint errors are permanent and name the
// record (RecordError).
package postgres
