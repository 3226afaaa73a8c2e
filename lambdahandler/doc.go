// Package lambdahandler runs the ingest pipeline as an AWS Lambda function
// behind a Kinesis event source mapping.
//
// Each invocation carries records of one or more shards, each shard's in
// sequence order. The Handler turns them into pipeline.Messages and hands
// them, in order and a sub-batch at a time, to the same pipeline.Processor
// the long-running workers use: poison records are dead-lettered by the
// Processor and count as handled. When a sink fails, the response is a
// partial batch response (ReportBatchItemFailures) naming, per shard, the
// first sequence number that is not acknowledged; Lambda then retries from
// that record on, so nothing before it is written twice and nothing after
// it is skipped. A function-level error is returned only when no record
// could be judged at all (the stores cannot be opened, the event is
// malformed).
//
// The Processor and its connection pools are opened once per execution
// environment (the cold start) and reused by every later invocation.
package lambdahandler
