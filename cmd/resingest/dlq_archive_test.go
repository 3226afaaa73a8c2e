package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/sinks/archive"
	"github.com/resingest/resingest/sinks/postgres"
)

// dlqBigMessage is dlqMessage(root, conf) padded to about size bytes with
// a comment before its reservations.
func dlqBigMessage(root, conf string, size int) []byte {
	msg := dlqMessage(root, conf)
	at := bytes.Index(msg, []byte("<HotelReservations>"))
	pad := bytes.Repeat([]byte("padding line of a large message\n"), max(0, size-len(msg))/32)
	return bytes.Join([][]byte{msg[:at], []byte("<!-- "), pad, []byte(" -->"), msg[at:]}, nil)
}

// dlqBucket returns a fresh bucket name on the local S3, emptied and
// deleted when t ends.
func dlqBucket(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := archive.NewClient(ctx, testenv.S3Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	name := testenv.UniqueName("dlq-archive")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(name)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return // never created
			}
			for _, o := range page.Contents {
				_, _ = client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: o.Key})
			}
		}
		_, _ = client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
	})
	return name
}

// TestDLQTruncatedLetters: 'consume' keeps a 64 KiB prefix of a large
// poison message and archives it whole, and refuses a file over
// --max-bytes without reading it whole; 'dlq show' says which letters are
// truncated, reads the whole one from the archive, and 'dlq replay' applies
// it from there.
func TestDLQTruncatedLetters(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresSchema(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := postgres.New(ctx, url, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	if _, err := pg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const maxBytes = 400_000
	big := dlqBigMessage("OTA_HotelResSyncRQ", "BIG1", 300_000)
	huge := dlqBigMessage("OTA_HotelResSyncRQ", "HUGE1", 500_000)
	dir := t.TempDir()
	for name, msg := range map[string][]byte{"1-big.xml": big, "2-huge.xml": huge} {
		if err := os.WriteFile(filepath.Join(dir, name), msg, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bucket := dlqBucket(t)
	s3Args := []string{"--archive-bucket", bucket, "--s3-endpoint", testenv.S3Endpoint(t)}
	if _, stderr, err := dlqRun(t, append([]string{"consume", "--source", "file", "--path", dir, "--sinks", "postgres",
		"--pg-url", url, "--max-bytes", strconv.Itoa(maxBytes)}, s3Args...)...); err != nil {
		t.Fatalf("consume: %v\n%s", err, stderr)
	}
	letters, err := pg.ListDeadLetters(ctx, postgres.DeadLetterFilter{})
	if err != nil || len(letters) != 2 {
		t.Fatalf("%d dead letters (%v), want 2", len(letters), err)
	}
	if l := letters[0]; !l.Truncated || l.ArchiveKey == "" || len(l.Message) != pipeline.DeadLetterPrefixBytes || l.MessageBytes != int64(len(big)) {
		t.Errorf("big letter: truncated=%v key=%q row=%d bytes=%d; want truncated, archived, %d of %d",
			l.Truncated, l.ArchiveKey, len(l.Message), l.MessageBytes, pipeline.DeadLetterPrefixBytes, len(big))
	}
	if l := letters[1]; !l.Truncated || l.ArchiveKey != "" || l.MessageBytes != int64(len(huge)) ||
		!strings.HasPrefix(l.Reason, "message too large: "+strconv.Itoa(len(huge))+" bytes, limit "+strconv.Itoa(maxBytes)) {
		t.Errorf("huge letter: truncated=%v key=%q bytes=%d reason %q; want truncated, not archived, too large", l.Truncated, l.ArchiveKey, l.MessageBytes, l.Reason)
	}

	for _, c := range []struct {
		name           string
		args           []string
		stdout, stderr string
	}{
		{"prefix only, archive not given", []string{"dlq", "show", "1", "--pg-url", url},
			"TRUNCATED: first 65536 of " + strconv.Itoa(len(big)) + " bytes", "set --archive-bucket to read it"},
		{"whole from the archive", append([]string{"dlq", "show", "1", "--pg-url", url}, s3Args...),
			"</OTA_HotelResSyncRQ>", "read from s3://" + bucket + "/"},
		{"too large, no archive copy", append([]string{"dlq", "show", "2", "--pg-url", url}, s3Args...),
			"TRUNCATED: first", "no archive copy exists, so this letter cannot be replayed from the prefix"},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, err := dlqRun(t, c.args...)
			if err != nil {
				t.Fatalf("%v: %v\n%s", c.args, err, stderr)
			}
			if !strings.Contains(stdout, c.stdout) || !strings.Contains(stderr, c.stderr) {
				t.Errorf("stdout lacks %q or stderr lacks %q:\nstdout: ...%s\nstderr: %s", c.stdout, c.stderr, stdout[max(0, len(stdout)-300):], stderr)
			}
			if strings.Contains(stdout, dlqPAN) {
				t.Error("dlq show printed the full card number")
			}
		})
	}

	stdout, stderr, err := dlqRun(t, append([]string{"dlq", "replay", "--mapping", dlqMapping(t), "--sinks", "postgres",
		"--pg-url", url, "--max-bytes", "1000000"}, s3Args...)...)
	if dlqExitCode(err) != 1 || !strings.Contains(stdout, "2 dead letters: 1 replayed (stored 1), 1 still failing") ||
		!strings.Contains(stdout, "cannot be replayed from the prefix") {
		t.Errorf("dlq replay: exit %d, want 1 with the big letter replayed and the huge one not:\n%s\n%s", dlqExitCode(err), stdout, stderr)
	}
}
