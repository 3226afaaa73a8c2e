// Package lease keeps the Kinesis shard leases of a group of workers in a
// DynamoDB table whose items the Kinesis Client Library (KCL) could read:
//
//	leaseKey                      S   shard id (hash key)
//	leaseOwner                    S   worker id; absent when nobody holds it
//	leaseCounter                  N   incremented by every take, renewal,
//	                                  checkpoint and release
//	checkpoint                    S   last stored sequence number, or
//	                                  TRIM_HORIZON, LATEST, AT_TIMESTAMP, SHARD_END
//	checkpointSubSequenceNumber   N   always 0 (no KPL aggregation)
//	ownerSwitchesSinceCheckpoint  N   takes since the last checkpoint
//	parentShardIds                SS  parent shards (absent when none)
//
// Every write is conditional on the leaseCounter (and, for the holder's
// writes, the leaseOwner) the writer last saw, so two workers never both
// believe they hold a lease: the loser gets ErrLost.
//
// Expiry follows the KCL: a worker remembers, on its own clock, when it last
// saw each lease's counter change; a lease whose counter has not moved for
// the lease duration belongs to a dead (or partitioned) worker and may be
// taken. Clocks of different workers are never compared.
//
// A Manager takes leases (expired or unowned ones first, then at most one
// stolen per cycle from the most loaded worker while this worker is below
// its fair share) and renews the ones it holds on its own goroutine, so a
// slow batch never costs a lease.
package lease
