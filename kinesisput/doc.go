// Package kinesisput puts records onto a Kinesis stream with PutRecords
// without breaking the order of the records of a partition key: a request
// holds at most one record per key and is fully accepted before the next
// goes; the entries the service refuses for now (throttled, an internal
// failure) are sent again, alone, after a capped, jittered backoff; an
// entry refused for good ends the put with a *RefusedError. It is what
// `resingest gen --kinesis-stream` uses. Put is safe for concurrent use on
// distinct entries.
package kinesisput
