// Package migrate backfills reservations from enterprise data warehouse
// (EDW) extracts into the stores the live pipeline writes: Postgres and,
// optionally, DynamoDB.
//
// An extract is a set of CSV files (plain or .gz, one header row; see
// corpus.EDWHeader for the columns), local or in S3 (Source: an object is
// read at the ETag it was listed with, and its progress is keyed by key
// and ETag). One row is one reservation with one room stay, one primary
// guest, its itinerary id as an external id of type "itinerary" and its
// special requests (a JSON array; extracts without that column load with
// none); its version is reservation.VersionOf with an empty stream
// position, the same ordering the live pipeline uses.
//
// Postgres is written through sinks/postgres, which owns every statement
// for its tables, the backfill's included (its backfill*.go files: the
// worker sessions, the chunk transaction, the binary COPY, progress,
// rejects, deferred indexes, checksums, the export snapshot): this package
// holds no SQL and does not import pgx (internal/layering checks it). It
// decides what is written and when: chunks, their order, retries,
// DynamoDB, when to defer the indexes.
//
// Postgres: each file is read in chunks. A chunk keeps the newest row per
// key (sorted and deduplicated in Go) and is copied (COPY, binary) into a
// temporary staging table of the worker's connection, then merged into the
// live tables set-based with the live pipeline's version guard
// (ON CONFLICT ... WHERE reservations.version < EXCLUDED.version): a
// warehouse row never replaces a newer version written by the stream, and
// a re-run changes nothing. One statement upserts the parents and inserts
// the children of the parents it inserted; a second one, only when some
// parents were updated instead, replaces those parents' children. The
// chunk's rejected rows and the file's progress (backfill_files, migration
// 0002) are written in the same transaction as the merge, so a killed
// migration restarted with the same files continues after the last
// committed chunk and ends in the same state as an uninterrupted one.
// Files are loaded in parallel, one connection each.
//
// The child tables have no foreign keys (migration 0012): the merge writes
// every parent itself before its children, holding its lock.
//
// Options.Presort loads in key order instead (presort.go): the input is
// first sorted into runs on disk, then merged in numbered chunks. Random
// keys dirty nearly every index page once the tables outgrow the buffer
// cache; key order keeps consecutive chunks on neighbouring pages. A
// presorted chunk holds each of its keys once in the whole load, so it is
// first tried without staging (postgres.ChunkWrite.TryDirect): binary
// COPY straight into the four tables under a savepoint, falling back to
// the staged merge when a key is already stored.
//
// Options.DeferIndexes (indexes.go) drops the reservation tables'
// secondary indexes (never their primary keys, which the version guard
// needs) for the load and builds them when it ends; by default when the
// reservations table is empty as the load starts. What is owed is
// recorded in backfill_deferred_indexes, so an interrupted load's
// indexes are built by the next run.
//
// Archived XML messages (S3Source; a directory goes through
// pipeline.RunFiles) are not staged: a message holds any number of room
// stays, guests and ids, so they go through the live pipeline's processor.
//
// DynamoDB import files (ExportImportFiles) are written after the load,
// from the final Postgres state, each key once. Verify compares the
// extract with both stores per hotel (counts and checksums).
//
// Staging tables are TEMPORARY: like UNLOGGED tables they write no WAL, and
// in addition they vanish with their session, so a killed migration leaves
// nothing behind to clean up.
//
// DynamoDB (batch mode): BatchWriteItem has no conditions, so only the keys
// whose Postgres merge applied the warehouse row (RETURNING) are written,
// 25 items a request, in parallel, under a write-capacity rate cap, with
// unprocessed items retried after sinks.Backoff. The items are written
// before the chunk's transaction commits (postgres.ChunkWrite.BeforeCommit): a crash in between makes the
// restarted run merge and write the chunk again (the items are rewritten
// identically), never skip it. Items have the live sink's layout.
//
// Remaining race (documented, not closed): the live pipeline writes its
// two stores independently. If a newer live version reaches DynamoDB while
// its Postgres write is still blocked behind a chunk's transaction (which
// holds the row locks of the keys it applied), the chunk's unconditional
// batch write can replace that newer item with the older warehouse row.
// Run the backfill before the stream writes to those keys, or follow it by
// a DynamoDB repair from Postgres (migrate verify finds the hotels).
//
// Malformed rows never stop a load: each is recorded with its file, line
// and a reason that names the column but never its value (rows hold
// personal data), and counted.
package migrate
