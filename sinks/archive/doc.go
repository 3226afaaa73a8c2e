// Package archive is the archive sink: it keeps every raw message,
// redacted, gzip-compressed, in S3, so that operators can see exactly what a
// source sent and the stores can be rebuilt (resingest migrate) from it.
//
// Layout. One Write makes one object per (archive day, hotel) group of its
// batch:
//
//	<prefix>/dt=YYYY-MM-DD/hotel=<HOTEL>/<batch-id>.jsonl.gz
//
// where the day is the UTC day of the write (the sink's clock, not the
// message's time: an object's key tells when it was archived), HOTEL is the
// reservation's hotel code ("unknown" when it has none) and batch-id is a
// UTC timestamp followed by random hex, so keys of a hotel sort by write
// time and never collide across processes. The object is JSON Lines, one
// Entry per message: a message that produced several reservations of one
// group is stored once. The key is returned in each record's Result.Key
// (the sink never writes to its input), and the pipeline puts it in
// Record.ArchiveKey so the stores record it on the reservation.
//
// Redaction. Record.Raw is redacted by the pipeline already; the sink runs
// redact.Redact over it again (it is idempotent), so a card number or CVV
// can never reach the archive even if a caller forgets.
//
// Delivery. A put is retried inside Write on transient errors (throttling
// such as SlowDown, 5xx answers, lost connections, timed-out attempts) with
// sinks.Backoff, up to Options.MaxAttempts; what still fails is reported
// per record as sinks.Failed with an error marked sinks.Retryable.
// Archiving is idempotent in effect, not in form: a message delivered twice
// is archived in two objects with the same content, and the reservation
// keeps the key of one of them. Objects are never overwritten.
//
// Bucket. EnsureBucket creates the bucket when missing and installs a
// lifecycle rule moving objects to Glacier after Options.GlacierAfterDays.
// Every object is written with server-side encryption (SSE-KMS with
// Options.KMSKeyID, else SSE-S3).
package archive
