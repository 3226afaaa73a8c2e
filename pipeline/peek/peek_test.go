package peek_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/pipeline/peek"
	"github.com/resingest/resingest/sinks/archive"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type seen struct {
	names []string
	sizes []int
}

func (s *seen) handle(name string, msg []byte) {
	s.names = append(s.names, name)
	s.sizes = append(s.sizes, len(msg))
}

// TestFiles: *.xml only, in name order, each read up to maxBytes+1; a
// missing folder or a file is an error.
func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int{"b.xml": 10, "a.xml": 3, "c.txt": 5, "big.xml": 100} {
		if err := os.WriteFile(filepath.Join(dir, name), bytes.Repeat([]byte("x"), size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var s seen
	if err := peek.Files(context.Background(), dir, 20, s.handle); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.xml", "b.xml", "big.xml"}; !reflect.DeepEqual(s.names, want) {
		t.Errorf("names %v, want %v", s.names, want)
	}
	if want := []int{3, 10, 21}; !reflect.DeepEqual(s.sizes, want) {
		t.Errorf("sizes %v, want %v (an oversized file is cut at maxBytes+1)", s.sizes, want)
	}
	if err := peek.Files(context.Background(), filepath.Join(dir, "none"), 20, s.handle); err == nil {
		t.Error("a missing folder is not an error")
	}
	if err := peek.Files(context.Background(), filepath.Join(dir, "a.xml"), 20, s.handle); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("a file as folder: %v", err)
	}
}

// TestS3 reads a prefix of the local S3 server: an *.xml object by key,
// the messages of an archive object (*.jsonl.gz) as key#line, nothing else.
func TestS3(t *testing.T) {
	endpoint := testenv.S3Endpoint(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := archive.NewClient(ctx, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	bucket := testenv.UniqueName("peek")
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	enc := json.NewEncoder(zw)
	for _, xml := range []string{"<m1/>", "<m22/>"} {
		if err := enc.Encode(archive.Entry{XML: xml}); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	objects := map[string][]byte{
		"p/1.xml":      []byte("<one/>"),
		"p/2.jsonl.gz": gz.Bytes(),
		"p/3.txt":      []byte("ignored"),
		"p/4.jsonl.gz": []byte("not gzip"),
		"other/5.xml":  []byte("<outside/>"),
	}
	for key, body := range objects {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for key := range objects {
			_, _ = client.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		}
		_, _ = client.DeleteBucket(context.Background(), &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	})
	var s seen
	err = peek.S3(ctx, client, bucket, "p/", 1<<20, nil, s.handle)
	if !errors.Is(err, archive.ErrCorrupt) || !strings.Contains(err.Error(), "p/4.jsonl.gz") {
		t.Errorf("a corrupt archive object: %v", err)
	}
	if want := []string{"p/1.xml", "p/2.jsonl.gz#1", "p/2.jsonl.gz#2"}; !reflect.DeepEqual(s.names, want) {
		t.Errorf("names %v, want %v", s.names, want)
	}
	if want := []int{6, 5, 6}; !reflect.DeepEqual(s.sizes, want) {
		t.Errorf("sizes %v, want %v", s.sizes, want)
	}
}
