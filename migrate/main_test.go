package migrate

import (
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

// TestMain builds no binary by itself; e2e.Main removes the one
// TestBinarySIGKILL builds and gives the AWS SDK dummy credentials.
func TestMain(m *testing.M) { e2e.Main(m) }

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// testDB returns a store on a fresh, migrated database and its URL.
func testDB(t testing.TB) (*postgres.Sink, string) {
	t.Helper()
	url := testenv.PostgresSchema(t)
	ctx := testContext(t)
	if _, err := postgres.MigrateURL(ctx, url); err != nil {
		t.Fatalf("migrate schema: %v", err)
	}
	db, err := postgres.New(ctx, url, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db, url
}

// testTable returns a client and a fresh table, deleted when t ends.
func testTable(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	c, err := dynamo.NewClient(testContext(t), testenv.DynamoEndpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	name := testenv.UniqueName("backfill")
	if err := dynamo.EnsureTable(testContext(t), c, name); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			t.Errorf("delete table %s: %v", name, err)
		}
	})
	return c, name
}

// clientTable is a DynamoDB client and a fresh table of the test.
type clientTable struct {
	client *dynamodb.Client
	table  string
}

func newClientTable(t testing.TB) *clientTable {
	c, name := testTable(t)
	return &clientTable{c, name}
}

// genExtract writes an extract into a temporary directory.
func genExtract(t testing.TB, rows, files int, gz bool) []string {
	t.Helper()
	paths, err := corpus.WriteEDW(testContext(t), t.TempDir(), corpus.EDWOptions{Seed: 11, Hotels: 200, Rows: rows, Files: files, Gzip: gz})
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

// expected reads extract files independently of the loader and
// returns the newest row per hotel/confirmation key.
func expected(t testing.TB, paths []string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = f
		if strings.HasSuffix(p, ".gz") {
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		}
		rows, err := csv.NewReader(r).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows[1:] {
			k := r[1] + "/" + r[0]
			v := func(r []string) string {
				if r[5] != "" {
					return r[5]
				}
				return r[4]
			}
			if prev, ok := out[k]; !ok || v(r) >= v(prev) {
				out[k] = r
			}
		}
	}
	return out
}

// dumpPG returns every stored row the backfill can touch, ordered by key,
// without the write times (stored_at, updated_at).
func dumpPG(t testing.TB, db *postgres.Sink) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT (to_jsonb(r) - 'stored_at')::text FROM reservations r ORDER BY hotel_code, confirmation`,
		`SELECT to_jsonb(c)::text FROM reservation_room_stays c ORDER BY hotel_code, confirmation, ordinal`,
		`SELECT to_jsonb(c)::text FROM reservation_guests c ORDER BY hotel_code, confirmation, ordinal`,
		`SELECT to_jsonb(c)::text FROM reservation_external_ids c ORDER BY hotel_code, confirmation, ordinal`,
		`SELECT (to_jsonb(c) - 'updated_at')::text FROM backfill_files c ORDER BY path`,
		`SELECT to_jsonb(c)::text FROM backfill_rejects c ORDER BY path, line`,
	} {
		rows, err := db.Pool().Query(testContext(t), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			b.WriteString(s)
			b.WriteByte('\n')
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
	}
	return b.String()
}

// dumpDynamo returns every item of table without updated_at, sorted.
func dumpDynamo(t testing.TB, c *dynamodb.Client, table string) []string {
	t.Helper()
	var out []string
	p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String(table)})
	for p.HasMorePages() {
		page, err := p.NextPage(testContext(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				t.Fatal(err)
			}
			delete(m, "updated_at")
			b, _ := json.Marshal(m) // maps marshal with sorted keys
			out = append(out, string(b))
		}
	}
	sort.Strings(out)
	return out
}

// count returns a single count.
func countRows(t testing.TB, db *postgres.Sink, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Pool().QueryRow(testContext(t), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n  got  %s\n  want %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(al), len(bl))
}
