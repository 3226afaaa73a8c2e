package migrate

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/archive"
	"github.com/resingest/resingest/sinks/dynamo"
)

// TestExportImportFiles loads an extract whose keys repeat across files
// and chunks (batch mode into a table, as the reference), exports the
// import files to a directory and to S3, and checks that every stored key
// is in exactly one file line and that the lines decode to the items
// sinks/dynamo wrote.
func TestExportImportFiles(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	db, _ := testDB(t)
	ct := newClientTable(t)
	paths := genExtract(t, 3000, 3, false)
	if _, err := New(db, Options{Workers: 2, ChunkRows: 400, Dynamo: ct.client, DynamoTable: ct.table}).Run(ctx, paths); err != nil {
		t.Fatal(err)
	}
	want := dumpDynamo(t, ct.client, ct.table)
	if n := countRows(t, db, `SELECT count(*) FROM reservations`); n != len(want) || n < 1000 {
		t.Fatalf("%d reservations, %d items: the load went wrong", n, len(want))
	}

	s3c, err := archive.NewClient(ctx, testenv.S3Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	bucket := testenv.UniqueName("import")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		dest ImportDest
		read func(t *testing.T, name string) []byte
	}{
		{"dir", DirDest{Dir: dir}, func(t *testing.T, name string) []byte {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
		{"s3", S3Dest{Client: s3c, URL: S3URL{Bucket: bucket, Prefix: "imports/run1/"}}, func(t *testing.T, name string) []byte {
			out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("imports/run1/" + name)})
			if err != nil {
				t.Fatal(err)
			}
			defer out.Body.Close()
			b, err := io.ReadAll(out.Body)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A file of an earlier, larger export must not survive.
			if err := tc.dest.Put(ctx, importFileName(99), []byte("stale")); err != nil {
				t.Fatal(err)
			}
			for run := range 2 { // a re-run writes the same files
				st, err := ExportImportFiles(ctx, db, tc.dest, ExportOptions{ItemsPerFile: 700})
				if err != nil {
					t.Fatalf("run %d: %v", run, err)
				}
				names, err := tc.dest.Names(ctx)
				if err != nil {
					t.Fatal(err)
				}
				sort.Strings(names)
				if wantFiles := (len(want) + 699) / 700; st.Files != wantFiles || len(names) != wantFiles || names[0] != importFileName(1) {
					t.Fatalf("run %d: %d files %v, want %d from %s", run, st.Files, names, wantFiles, importFileName(1))
				}
				var got []string
				seen := map[string]bool{}
				for _, n := range names {
					for _, item := range decodeImportFile(t, tc.read(t, n)) {
						k := itemString(t, item, "pk") + "/" + itemString(t, item, "sk")
						if seen[k] {
							t.Errorf("key %s in two lines", k)
						}
						seen[k] = true
						got = append(got, itemJSON(t, item))
					}
				}
				sort.Strings(got)
				if int64(len(got)) != st.Items || join(got) != join(want) {
					t.Errorf("run %d: %d items (stats %d), want %d as batch mode wrote them: %s",
						run, len(got), st.Items, len(want), diffLines(join(got), join(want)))
				}
			}
		})
	}
}

// decodeImportFile decodes the items of one gzip import file, without
// updated_at.
func decodeImportFile(t *testing.T, data []byte) []map[string]types.AttributeValue {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]types.AttributeValue
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		item := decodeImportLine(t, sc.Bytes())
		delete(item, "updated_at")
		out = append(out, item)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func itemString(t *testing.T, item map[string]types.AttributeValue, name string) string {
	t.Helper()
	v, ok := item[name].(*types.AttributeValueMemberS)
	if !ok {
		t.Fatalf("item has no string %s: %v", name, item)
	}
	return v.Value
}

// itemJSON renders an item as dumpDynamo does.
func itemJSON(t *testing.T, item map[string]types.AttributeValue) string {
	t.Helper()
	var m map[string]any
	if err := attributevalue.UnmarshalMap(item, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "updated_at")
	b, _ := json.Marshal(m)
	return string(b)
}

func encodeForTest(rec *sinks.Record) (map[string]types.AttributeValue, error) {
	item, err := dynamo.EncodeItem(rec, dynamo.EmailGuestID, time.Unix(0, 0))
	if err != nil {
		return nil, err
	}
	delete(item, "updated_at")
	return item, nil
}
