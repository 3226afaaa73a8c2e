package migrate

import (
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/resingest/resingest/bench/corpus"
)

// bareTableSQL is the extract's columns with their types and nothing else
// (no key, no index, no children): what a plain \copy can fill fastest.
const bareTableSQL = `CREATE TABLE edw_bare (
	confirmation text, hotel_code text, chain_code text, status text,
	created_at timestamptz, modified_at timestamptz, arrival date, departure date,
	room_type text, rate_plan text, adults int4, children int4,
	total_after_tax numeric, total_before_tax numeric, currency text,
	guest_given_name text, guest_surname text, guest_email text, guest_phone text,
	loyalty_number text, itinerary_id text, special_requests jsonb)`

// BenchmarkBackfill loads a generated extract (2,000,000 rows over 4 files;
// RESINGEST_BENCH_ROWS changes the count) into a fresh database with two
// workers (RESINGEST_BENCH_WORKERS) and chunks of DefaultChunkRows
// (RESINGEST_BENCH_CHUNK_ROWS), presorted unless RESINGEST_BENCH_PRESORT=0,
// Postgres only, and the same files with psql \copy into a bare
// table (the ceiling). It reports rows/s for both and their ratio. The
// garbage collector runs as resingest migrate runs it (GCPercent).
func BenchmarkBackfill(b *testing.B) {
	rows := benchRows(b, "RESINGEST_BENCH_ROWS", 2_000_000)
	defer debug.SetGCPercent(debug.SetGCPercent(GCPercent))
	opts := Options{
		Workers:   benchRows(b, "RESINGEST_BENCH_WORKERS", 2),
		ChunkRows: benchRows(b, "RESINGEST_BENCH_CHUNK_ROWS", DefaultChunkRows),
	}
	opts.Presort = os.Getenv("RESINGEST_BENCH_PRESORT") != "0" // as resingest migrate
	if _, err := exec.LookPath("psql"); err != nil {
		b.Fatal("psql is needed for the \\copy ceiling: ", err)
	}
	paths, err := corpus.WriteEDW(context.Background(), b.TempDir(), corpus.EDWOptions{Seed: 5, Rows: rows, Files: 4})
	if err != nil {
		b.Fatal(err)
	}
	var loadTime, copyTime time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, url := testDB(b)
		ctx := context.Background()
		b.StartTimer()
		start := time.Now()
		st, err := New(db, opts).Run(ctx, paths)
		loadTime += time.Since(start)
		b.StopTimer()
		if err != nil || st.Rows != int64(rows) {
			b.Fatalf("Run: %+v, %v", st, err)
		}
		if _, err := db.Pool().Exec(ctx, bareTableSQL); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		for _, p := range paths {
			out, err := exec.Command("psql", url, "-v", "ON_ERROR_STOP=1", "-qc",
				`\copy edw_bare FROM '`+p+`' WITH (FORMAT csv, HEADER true)`).CombinedOutput()
			if err != nil {
				b.Fatalf("psql \\copy: %v: %s", err, out)
			}
		}
		copyTime += time.Since(start)
		if n := countRows(b, db, `SELECT count(*) FROM edw_bare`); n != rows {
			b.Fatalf("\\copy loaded %d rows, want %d", n, rows)
		}
		b.StartTimer()
	}
	total := float64(rows) * float64(b.N)
	load := total / loadTime.Seconds()
	ceiling := total / copyTime.Seconds()
	b.ReportMetric(load, "rows/s")
	b.ReportMetric(ceiling, "copy_rows/s")
	b.ReportMetric(load/ceiling, "ratio")
}

// benchRows reads a positive number (rows, workers) from env, else def.
func benchRows(b *testing.B, env string, def int) int {
	b.Helper()
	if s := os.Getenv(env); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q is not a positive number", env, s)
		}
		return n
	}
	return def
}

// BenchmarkBackfillDynamo loads an extract (20,000 rows;
// RESINGEST_BENCH_DYNAMO_ROWS) into Postgres and, in batch mode, the local
// DynamoDB server, then writes the import files of the same state. It
// reports rows/s of the batch-mode load (both stores) and items/s of the
// import-file export.
func BenchmarkBackfillDynamo(b *testing.B) {
	rows := benchRows(b, "RESINGEST_BENCH_DYNAMO_ROWS", 20_000)
	paths, err := corpus.WriteEDW(context.Background(), b.TempDir(), corpus.EDWOptions{Seed: 5, Rows: rows, Files: 4})
	if err != nil {
		b.Fatal(err)
	}
	var loadTime, exportTime time.Duration
	var items int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, _ := testDB(b)
		client, table := testTable(b)
		ctx := context.Background()
		b.StartTimer()
		start := time.Now()
		st, err := New(db, Options{Presort: true, Dynamo: client, DynamoTable: table}).Run(ctx, paths)
		loadTime += time.Since(start)
		if err != nil || st.Rows != int64(rows) {
			b.Fatalf("Run: %+v, %v", st, err)
		}
		start = time.Now()
		ex, err := ExportImportFiles(ctx, db, DirDest{Dir: b.TempDir()}, ExportOptions{})
		exportTime += time.Since(start)
		if err != nil || ex.Items == 0 {
			b.Fatalf("ExportImportFiles: %+v, %v", ex, err)
		}
		items += ex.Items
	}
	b.ReportMetric(float64(rows)*float64(b.N)/loadTime.Seconds(), "rows/s")
	b.ReportMetric(float64(items)/exportTime.Seconds(), "import_items/s")
}

// BenchmarkBackfillParseRow: a row's checks (parseRow) over a generated
// extract, 30% of whose rows carry 1-2 special requests; reports ns per
// row.
func BenchmarkBackfillParseRow(b *testing.B) {
	files, err := corpus.WriteEDW(context.Background(), b.TempDir(), corpus.EDWOptions{Seed: 1, Rows: 20000})
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(files[0])
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	recs = recs[1:]
	rows := 0
	start := time.Now()
	for b.Loop() {
		for _, r := range recs {
			if _, e := parseRow(1, append([]string(nil), r...)); e != nil {
				b.Fatal(e)
			}
		}
		rows += len(recs)
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(rows), "ns/row")
}
