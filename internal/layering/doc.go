// Package layering states which of the module's packages may import which,
// and its test checks the module against those rules with `go list`:
//
//   - a store (sinks/postgres, sinks/dynamo, sinks/archive) never imports
//     the pipeline (pipeline, pipeline/...);
//   - the pipeline (pipeline, pipeline/lease) never imports a store: it
//     declares the interfaces it needs, in its own terms or the ledger's,
//     and cmd/resingest hands it the stores;
//   - nothing imports cmd/...;
//   - reservation, the canonical record, imports nothing of the module;
//   - the store clients below the sinks (internal/storeerr,
//     internal/awsclient, pipeline/lease) do not import them: the retry
//     marker and the store failure classes live in internal/storeerr;
//   - no production package imports a test harness (internal/e2e,
//     internal/testenv);
//   - a store does not import the parser: redaction is package redact,
//     which, like the built-in mappings (parse/mappings), sits below the
//     parser and does not import it;
//   - the backfill (migrate) does not import pgx (github.com/jackc/pgx/v5
//     and its packages: pgconn, pgxpool, pgtype): sinks/postgres owns
//     every statement for its tables, the backfill's included.
//
// Rules name packages of the module; Rule.ToOutside names packages
// outside it (full import paths).
//
// pipeline/peek is not the pipeline: it reads sources (files, Kafka,
// Kinesis, archive objects) for `mapping check` and dry runs, and the
// archive's object format is one of them.
//
// Rules is what the test applies; Violations checks a module's import
// graph (as `go list` prints it) against them.
package layering
