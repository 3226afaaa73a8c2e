// Package e2e benchmarks the ingest worker end to end on the local
// services: a corpus from bench/corpus is produced into a fresh Kafka topic
// and `resingest consume` (the real binary, as a separate process) writes
// it into fresh stores, a new Postgres database and, for the second case, a
// new DynamoDB table as well.
//
// BenchmarkEndToEnd reports, per case:
//
//	msgs/s          messages acknowledged per second, from the worker's
//	                start to its last batch (the idle wait of
//	                --exit-when-idle is not counted)
//	cpu-s/1000msgs  user+system CPU seconds of the worker per 1,000 messages
//	peak-RSS-MB     the worker's peak resident set size
//	postgres-cpu-s/1000msgs, dynalite-cpu-s/1000msgs
//	                CPU seconds the local Postgres server (postmaster and
//	                every backend) and dynalite spent during the worker's
//	                run, per 1,000 messages; only when the services were
//	                started by scripts/dev-services (their pid files), and
//	                only meaningful when nothing else uses them meanwhile
//	est-WCU/msg     DynamoDB write units per message as AWS would bill
//	                them, estimated from the sizes of the stored items and
//	                their index entries (dynalite bills no indexes)
//	item-bytes      the stored DynamoDB items' mean size by AWS's rules
//	pg-rows/msg     heap rows the run inserted, updated or deleted in
//	                Postgres per message (pg_stat_user_tables; the log
//	                line splits them by table, with HOT updates)
//
// The local services must be running (scripts/dev-services up) and their
// settings exported:
//
//	eval "$(scripts/dev-services env)"
//	go test -run '^$' -bench EndToEnd -benchtime 1x ./bench/...
//
// One iteration is a whole run of the corpus, so -benchtime 1x is the
// intended setting (a larger count repeats the run with fresh stores and
// reports the averages). ns/op is the worker process's whole life (start,
// group join, the idle wait before it exits): read msgs/s instead. The figures depend on the machine and on what else
// runs on it: quote them with the machine and its load (uptime).
//
// Environment:
//
//	RESINGEST_BENCH_MESSAGES    messages per run (default 20,000 for
//	                            postgres, 5,000 for postgres+dynamo)
//	RESINGEST_BENCH_BATCH_SIZE  --batch-size of the worker (default: the
//	                            command's default)
//	RESINGEST_BENCH_CPUPROFILE  a folder: the worker writes a CPU profile
//	                            per case into it (--cpuprofile)
//	RESINGEST_BENCH_LOGDIR      a folder: the worker's log (standard error)
//	                            is kept there, one file per case
package e2e
