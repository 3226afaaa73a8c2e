package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables read by this package; `scripts/dev-services env`
// prints all of them.
const (
	EnvPostgresURL     = "RESINGEST_PG_URL"
	EnvDynamoEndpoint  = "RESINGEST_DYNAMO_ENDPOINT"
	EnvKinesisEndpoint = "RESINGEST_KINESIS_ENDPOINT"
	EnvS3Endpoint      = "RESINGEST_S3_ENDPOINT"
	EnvKafkaBrokers    = "RESINGEST_KAFKA_BROKERS"
)

// dbTimeout bounds the admin statements run against Postgres.
const dbTimeout = 30 * time.Second

func lookup(t testing.TB, name string) string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, or `eval \"$(scripts/dev-services env)\"` after `scripts/dev-services up`", name)
	}
	return v
}

// PostgresURL is the URL of the shared development database. Tests that
// create tables should use PostgresSchema instead.
func PostgresURL(t testing.TB) string { t.Helper(); return lookup(t, EnvPostgresURL) }

// DynamoEndpoint is the base URL of the local DynamoDB (dynalite).
func DynamoEndpoint(t testing.TB) string { t.Helper(); return lookup(t, EnvDynamoEndpoint) }

// KinesisEndpoint is the base URL of the local Kinesis (kinesalite).
func KinesisEndpoint(t testing.TB) string { t.Helper(); return lookup(t, EnvKinesisEndpoint) }

// S3Endpoint is the base URL of the local S3 server; clients must use
// path-style addressing.
func S3Endpoint(t testing.TB) string { t.Helper(); return lookup(t, EnvS3Endpoint) }

// KafkaBrokers are the seed brokers (host:port) of the local Kafka.
func KafkaBrokers(t testing.TB) []string {
	t.Helper()
	var brokers []string
	for _, b := range strings.Split(lookup(t, EnvKafkaBrokers), ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	if len(brokers) == 0 {
		t.Fatalf("%s lists no brokers", EnvKafkaBrokers)
	}
	return brokers
}

// UniqueName returns prefix followed by "-" and 12 random lowercase hex
// digits: valid as an S3 bucket, DynamoDB table, Kinesis stream or Kafka
// topic name as long as prefix is (use lowercase letters, digits and '-').
func UniqueName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return prefix + "-" + hex.EncodeToString(b[:])
}

// PostgresSchema creates a fresh, empty database named test_<random> on the
// development server and returns its URL. The database is dropped (with any
// connections still open to it) when the test and its subtests finish, so
// parallel tests never see each other's tables.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL, got an unparsable value (%v)", EnvPostgresURL, err)
	}
	name := strings.ReplaceAll(UniqueName("test"), "-", "_")

	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	if err := adminExec(ctx, base, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
		defer cancel()
		if err := adminExec(ctx, base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})

	u.Path = "/" + name
	return u.String()
}

// adminExec runs one statement on its own connection: CREATE/DROP DATABASE
// cannot run inside a transaction or a pooled session shared with tests.
func adminExec(ctx context.Context, connURL, sql string) error {
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", EnvPostgresURL, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}
