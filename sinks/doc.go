// Package sinks holds what every sink shares: the record a sink writes, the
// per-item outcome it reports, and the error classification and retry policy
// the pipeline relies on. The sinks themselves live in sub-packages
// (sinks/postgres, sinks/dynamo, sinks/archive).
//
// Contract for every sink: writes are idempotent and version-guarded (a
// record whose version is not newer than the stored one changes nothing and
// reports Stale or Duplicate); a batch reports one Result per record, in
// order, so the caller retries only the records that failed.
package sinks
