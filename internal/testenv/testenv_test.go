package testenv

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestUniqueName(t *testing.T) {
	valid := regexp.MustCompile(`^archive-[0-9a-f]{12}$`)
	a, b := UniqueName("archive"), UniqueName("archive")
	if !valid.MatchString(a) || !valid.MatchString(b) {
		t.Fatalf("UniqueName = %q, %q; want archive-<12 hex>", a, b)
	}
	if a == b {
		t.Fatalf("UniqueName returned %q twice", a)
	}
}

func TestEndpointsSet(t *testing.T) {
	tests := []struct {
		name string
		get  func(testing.TB) string
	}{
		{"postgres", PostgresURL},
		{"dynamo", DynamoEndpoint},
		{"kinesis", KinesisEndpoint},
		{"s3", S3Endpoint},
		{"kafka", func(t testing.TB) string { return strings.Join(KafkaBrokers(t), ",") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.get(t); got == "" {
				t.Fatal("empty endpoint")
			}
		})
	}
}

func TestPostgresSchemaIsolatedAndDropped(t *testing.T) {
	ctx := t.Context()
	var (
		dbName string
		open   *pgx.Conn // left open past the subtest on purpose
	)
	defer func() {
		if open != nil {
			_ = open.Close(context.Background())
		}
	}()
	t.Run("create", func(t *testing.T) {
		a, b := PostgresSchema(t), PostgresSchema(t)
		if a == b {
			t.Fatalf("two calls returned the same database %s", a)
		}
		conn, err := pgx.Connect(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		open = conn
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&dbName); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(dbName, "test_") {
			t.Fatalf("current_database() = %q, want test_*", dbName)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE t (id int)"); err != nil {
			t.Fatal(err)
		}
		// conn stays open: the cleanup must drop the database anyway.
	})

	conn, err := pgx.Connect(ctx, PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", dbName).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("database %s still exists after its test finished", dbName)
	}
}

func TestProcessCPU(t *testing.T) {
	before, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the counter moves (it ticks every 10 ms).
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	for {
		for i := 0; i < 1e6; i++ {
			x += i
		}
		after, err := ProcessCPU(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if after > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time did not move in 5 s of work (%d)", x)
		}
	}
	if _, err := ProcessCPU(1 << 30); err == nil {
		t.Error("a pid that does not exist gave no error")
	}
}
