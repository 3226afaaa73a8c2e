package migrate

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/pipeline/sourcetest"
	"github.com/resingest/resingest/sinks/archive"
)

// TestS3SourceContract runs the source contract over XML objects under an
// S3 prefix (the real local S3 server), with an object that is not a
// message beside them.
func TestS3SourceContract(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	client, err := archive.NewClient(ctx, testenv.S3Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	bucket := testenv.UniqueName("source")
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	runs := 0
	sourcetest.Run(t, func(t *testing.T, msgs [][]byte) sourcetest.Open {
		runs++
		prefix := fmt.Sprintf("run%d/", runs)
		put := func(key string, body []byte) {
			if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + key), Body: bytes.NewReader(body)}); err != nil {
				t.Fatal(err)
			}
		}
		for i, m := range msgs {
			put(fmt.Sprintf("m%03d.xml", i), m)
		}
		put("notes.txt", []byte("not a message"))
		u, err := ParseS3URL("s3://" + bucket + "/" + prefix)
		if err != nil {
			t.Fatal(err)
		}
		return func(t *testing.T, batch int) pipeline.Source {
			return NewS3Source(client, u, batch, 1<<20, nil)
		}
	})
}
