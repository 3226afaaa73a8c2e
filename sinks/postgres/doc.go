// Package postgres is the Postgres sink of resingest: it stores canonical
// reservations in normalised tables (reservations, room stays, guests,
// external ids), keeps the audit trail and the dead letters, and owns the
// versioned SQL schema (migrations/NNNN_name.sql, applied by Migrate).
//
// Writes are idempotent and version-guarded: a record replaces the stored
// one only when its version (reservation.Version.String(), compared as
// bytes) is greater, and a batch of records costs one round trip: a single
// statement over unnest()ed array parameters that upserts the parents,
// replaces the children of the parents it updated and reports, per record,
// whether it was stored and which version was there before.
//
// Errors are classified for the pipeline: connection losses, serialization
// failures, deadlocks, shutdowns and connection limits are marked
// sinks.Retryable; data and constraint errors are permanent and name the
// record (RecordError).
package postgres
