package archive

import (
	"bytes"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestEnsureBucketIdempotent(t *testing.T) {
	t.Parallel()
	c := testClient(t)
	tests := []struct {
		name string
		opts Options
	}{
		{"default lifecycle", Options{}},
		{"prefix and KMS key", Options{Prefix: "raw", KMSKeyID: "alias/resingest-archive", GlacierAfterDays: 7}},
		{"lifecycle left alone", Options{GlacierAfterDays: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			tt.opts.Bucket = testBucket(t, c)
			if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(tt.opts.Bucket)}); err == nil {
				t.Fatalf("bucket %s exists before EnsureBucket", tt.opts.Bucket)
			}
			s := New(c, tt.opts)
			// Twice in a row, then several at once from separate sinks.
			for i := range 2 {
				if err := s.EnsureBucket(ctx); err != nil {
					t.Fatalf("EnsureBucket #%d: %v", i+1, err)
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				wg.Go(func() { errs[i] = New(c, tt.opts).EnsureBucket(ctx) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("concurrent EnsureBucket #%d: %v", i+1, err)
				}
			}
			if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(tt.opts.Bucket)}); err != nil {
				t.Fatalf("bucket missing after EnsureBucket: %v", err)
			}
			// The bucket takes writes with the sink's encryption headers.
			res := mustWrite(t, s, records(t, "m1", "H1", "C1"))
			if res[0].Outcome.String() != "stored" {
				t.Fatalf("write after EnsureBucket: %s", describe(res))
			}
			if got := listKeys(t, c, tt.opts.Bucket); len(got) != 1 {
				t.Errorf("objects after one write: %q, want one", got)
			}
		})
	}
}

func TestEnsureBucketExisting(t *testing.T) {
	t.Parallel()
	c := testClient(t)
	ctx := testContext(t)
	bucket := testBucket(t, c)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("keep"), Body: bytes.NewReader([]byte("x"))}); err != nil {
		t.Fatal(err)
	}
	if err := New(c, Options{Bucket: bucket}).EnsureBucket(ctx); err != nil {
		t.Fatalf("EnsureBucket on an existing bucket: %v", err)
	}
	if got := listKeys(t, c, bucket); len(got) != 1 || got[0] != "keep" {
		t.Errorf("objects after EnsureBucket = %q, want [keep]", got)
	}
}
