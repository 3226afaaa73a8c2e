// Package testenv gives tests the endpoints of the local services that
// 'scripts/dev-services up' starts (PostgreSQL, dynalite, kinesalite, the S3
// and Kafka stand-ins) and isolates tests from each other on them.
//
// Endpoints come from RESINGEST_* environment variables, which `make test`
// sets from `scripts/dev-services env`. A missing variable fails the test
// with instructions instead of skipping it: a test that silently does not
// run is worse than one that fails.
//
// All functions are safe for concurrent use by parallel tests.
package testenv
