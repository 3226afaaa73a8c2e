// Package pipeline moves messages from a source (Kafka, Kinesis, files; the
// Lambda handler in package lambdahandler uses the same Processor) through
// the parser into every configured sink, with the
// delivery rules of DESIGN.md:
//
//   - at-least-once, exactly-once in effect: a source position (offset,
//     checkpoint) moves only after every sink acknowledged every record up
//     to it, and every sink write is idempotent and version-guarded;
//   - a poison message (unparseable, invalid, or refused by a sink for good)
//     goes to the dead-letter store, redacted, with its reason, and never
//     blocks its partition;
//   - transient sink errors are retried, only for the records that failed,
//     with capped, jittered exponential backoff, until they succeed or the
//     drain deadline passes; nothing is dropped;
//   - every message gets exactly one audit row (the audit store ignores a
//     repeated source position after a redelivery).
//
// The Processor does the per-batch work and is shared by every source; the
// sources decide batching and commit positions after Process returns.
package pipeline
