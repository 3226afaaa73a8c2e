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
// The package owns every statement for its tables, the bulk backfill's
// too (package migrate holds no SQL): backfill*.go hold the backfill's
// worker sessions (BackfillSession: staging tables, one transaction per
// chunk, by binary COPY straight into the tables or staged and merged
// under the same version guard as Write), its progress and rejects
// (backfill_files, backfill_rejects), its deferred secondary indexes, the
// per-hotel checksums of migrate verify, and the snapshot the DynamoDB
// import files are read from (Snapshot).
//
// The operations console's reads (opsreads.go) count the audit trail, the
// lineage (audit_records) and the dead letters over time windows: outcomes
// over time, dead letters by reason class, per-hotel feed quality, and
// random samples of stored keys.
//
// Errors are classified for the pipeline: connection losses, serialization
// failures, deadlocks, shutdowns and connection limits are marked
// sinks.Retryable; data and constraint errors are permanent and name the
// record (RecordError). The backfill's errors are not classified: its
// chunk transactions mark a lost deadlock or serialization conflict with
// ErrTxConflict, and the backfill stops on anything else.
package postgres
