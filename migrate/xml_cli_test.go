package migrate

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/sinks/archive"
	"github.com/resingest/resingest/sinks/postgres"
)

// TestBinaryXML backfills a directory of XML messages (with poison ones)
// with 'resingest migrate --format xml': every key of the good messages is
// stored, each poison message is a dead letter, and a second run changes
// nothing.
func TestBinaryXML(t *testing.T) {
	t.Parallel()
	c := e2e.WriteCorpus(t, t.TempDir(), 120, 7, 3)
	db, url := testDB(t)
	run := func() {
		t.Helper()
		if out, errOut, err := e2e.Run(t, 2*time.Minute, "migrate", "--format", "xml", "--from", c.Dir,
			"--pg-url", url, "--dynamo-mode", "off"); err != nil {
			t.Fatalf("migrate --format xml: %v\n%s%s", err, out, errOut)
		}
	}
	assertXMLRunsTwice(t, db, c, run)
}

// TestBinaryXMLFromS3 backfills XML objects and an archive object
// (gzip JSON Lines of entries, as sinks/archive writes) from an S3 prefix.
func TestBinaryXMLFromS3(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	c := e2e.WriteCorpus(t, t.TempDir(), 80, 9, 2)
	client, err := archive.NewClient(ctx, testenv.S3Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	bucket := testenv.UniqueName("xml")
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	put := func(key string, data []byte) {
		t.Helper()
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
	}
	// The first half as one archive object, the rest as XML objects.
	var arc bytes.Buffer
	zw := gzip.NewWriter(&arc)
	enc := json.NewEncoder(zw)
	for i, f := range c.Files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if i < len(c.Files)/2 {
			if err := enc.Encode(archive.Entry{XML: string(data)}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		put("msgs/"+filepath.Base(f), data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	put("msgs/dt=2024-01-01/hotel=H1/batch.jsonl.gz", arc.Bytes())

	db, url := testDB(t)
	run := func() {
		t.Helper()
		if out, errOut, err := e2e.Run(t, 2*time.Minute, "migrate", "--format", "xml", "--from", "s3://"+bucket+"/msgs/",
			"--pg-url", url, "--dynamo-mode", "off", "--s3-endpoint", testenv.S3Endpoint(t)); err != nil {
			t.Fatalf("migrate --format xml from S3: %v\n%s%s", err, out, errOut)
		}
	}
	assertXMLRunsTwice(t, db, c, run)
}

// assertXMLRunsTwice runs run, checks every good message is stored and
// every poison one dead-lettered, then runs it again and checks nothing
// changed (positions are stable, so nothing is applied twice).
func assertXMLRunsTwice(t *testing.T, db *postgres.Sink, c *e2e.Corpus, run func()) {
	t.Helper()
	run()
	if n := countRows(t, db, `SELECT count(*) FROM reservations`); n != len(c.Keys()) || n == 0 {
		t.Errorf("%d reservations, want %d", n, len(c.Keys()))
	}
	if n := countRows(t, db, `SELECT count(*) FROM dead_letters`); n != len(c.Poison) {
		t.Errorf("%d dead letters, want %d", n, len(c.Poison))
	}
	before := dumpPG(t, db)
	run()
	if after := dumpPG(t, db); after != before {
		t.Errorf("a second run changed the store: %s", diffLines(after, before))
	}
}

// TestBinaryXMLRefresh: reservations stored before a field existed (here:
// their special requests emptied) do not get it from a plain re-run, whose
// equal versions are duplicates, but do from 'migrate --format xml
// --refresh'; a newer stored version is not replaced by the refresh.
func TestBinaryXMLRefresh(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sample, err := os.ReadFile(filepath.Join("..", "..", "shared", "samples", "public", "devlabs91__generic-ota-hotel-api-service__Reservation.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.xml"), sample, 0o644); err != nil {
		t.Fatal(err)
	}
	db, url := testDB(t)
	run := func(extra ...string) {
		t.Helper()
		args := append([]string{"migrate", "--format", "xml", "--from", dir, "--pg-url", url, "--dynamo-mode", "off"}, extra...)
		if out, errOut, err := e2e.Run(t, 2*time.Minute, args...); err != nil {
			t.Fatalf("%v: %v\n%s%s", args, err, out, errOut)
		}
	}
	requests := func() int {
		return countRows(t, db, `SELECT count(*) FROM reservation_special_requests WHERE hotel_code = 'HTL1' AND confirmation = '3741'`)
	}
	run()
	if n := requests(); n != 2 {
		t.Fatalf("%d special requests stored, want the sample's 2", n)
	}
	// As if stored before migration 0017.
	if _, err := db.Pool().Exec(testContext(t), `UPDATE reservations SET special_requests = '[]'`); err != nil {
		t.Fatal(err)
	}
	run()
	if n := requests(); n != 0 {
		t.Fatalf("a plain re-run rewrote an equal version (%d requests)", n)
	}
	run("--refresh")
	if n := requests(); n != 2 {
		t.Fatalf("after --refresh: %d special requests, want 2", n)
	}
	// A newer stored version wins over the refresh.
	if _, err := db.Pool().Exec(testContext(t), `UPDATE reservations SET version = version || '~', special_requests = '[]'`); err != nil {
		t.Fatal(err)
	}
	run("--refresh")
	if n := requests(); n != 0 {
		t.Fatalf("the refresh replaced a newer version (%d requests)", n)
	}
}
