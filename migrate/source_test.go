package migrate

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/sinks/archive"
)

// TestS3Sources loads an extract from an S3 prefix (plain and gzip
// objects, beside objects that are not extract files) and checks it ends
// as the same files loaded from disk, that a re-run skips the loaded
// objects, and that a rewritten object (new ETag) is a new file.
func TestS3Sources(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	client, err := archive.NewClient(ctx, testenv.S3Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	bucket := testenv.UniqueName("edw")
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	plain := genExtract(t, 1500, 2, false)
	for _, p := range plain {
		appendBadLines(t, p)
	}
	gz := genExtract(t, 500, 1, true)
	paths := append(plain, gz...)
	put := func(key string, data []byte) {
		t.Helper()
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		put("extract/"+string(rune('a'+i))+"-"+filepath.Base(p), data)
	}
	put("extract/README.txt", []byte("not an extract"))
	put("other/x.csv", []byte("not under the prefix"))

	refDB, _ := testDB(t)
	if _, err := New(refDB, Options{Workers: 2, ChunkRows: 300}).Run(ctx, paths); err != nil {
		t.Fatal(err)
	}
	db, _ := testDB(t)
	u, err := ParseS3URL("s3://" + bucket + "/extract")
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := S3Sources(ctx, client, u)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 3 || !strings.HasPrefix(srcs[0].Name, "s3://"+bucket+"/extract/a-") || !strings.Contains(srcs[0].Name, "#") || !srcs[2].Gzip {
		t.Fatalf("sources %+v: want the 3 extract objects, named with their ETag", srcs)
	}
	st, err := New(db, Options{Workers: 2, ChunkRows: 300}).RunSources(ctx, srcs)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != 2000 || st.Rejects != 4 {
		t.Errorf("stats %+v, want 2000 rows, 4 rejects", st)
	}
	want := dumpStored(t, refDB)
	stripFiles := func(s string) string { // the rejects name different files
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.Contains(l, `"reason"`) {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
	if got := dumpStored(t, db); stripFiles(got) != stripFiles(want) {
		t.Errorf("S3 load differs from the local one: %s", diffLines(stripFiles(got), stripFiles(want)))
	}
	if n := countRows(t, db, `SELECT count(*) FROM backfill_rejects WHERE path = $1`, srcs[0].Name); n != 2 {
		t.Errorf("%d rejects recorded under %s, want 2", n, srcs[0].Name)
	}

	again, err := New(db, Options{}).RunSources(ctx, srcs)
	if err != nil || again.Rows != 0 || again.FilesDone != 3 {
		t.Errorf("re-run: %+v, %v; want 3 files already done", again, err)
	}
	// Rewriting an object gives it a new ETag: a new file to load (the
	// version guard makes its rows change nothing).
	data, _ := os.ReadFile(paths[0])
	put("extract/a-"+filepath.Base(paths[0]), append(data, '\n'))
	srcs2, err := S3Sources(ctx, client, u)
	if err != nil {
		t.Fatal(err)
	}
	if srcs2[0].Name == srcs[0].Name {
		t.Fatalf("rewritten object kept its name %s", srcs[0].Name)
	}
	third, err := New(db, Options{}).RunSources(ctx, srcs2)
	if err != nil || third.Rows != 750 || third.Applied != 0 {
		t.Errorf("after rewrite: %+v, %v; want the 750 rows of the rewritten object merged, none applied", third, err)
	}
}
