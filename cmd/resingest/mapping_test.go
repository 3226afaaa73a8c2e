package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/sinks/archive"
)

// runCLIOut runs the root command in process and returns stdout, stderr
// and the exit status main would give.
func runCLIOut(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(context.Background())
	var ee exitError
	switch {
	case err == nil:
		code = 0
	case errors.As(err, &ee):
		code = ee.code
	default:
		code = 1
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

const publicSamples = "../../parse/testdata/public"

// copySamples copies named files of parse/testdata/public into a new folder.
func copySamples(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(publicSamples, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestMappingCheck(t *testing.T) {
	broken := copySamples(t, "concur__Cancel-OTA_CancelRQ.xml", "expedia__booking-notification-OTA_CancelRS.xml")
	if err := os.WriteFile(filepath.Join(broken, "zz-truncated.xml"), []byte(`<OTA_CancelRQ xmlns="http://www.opentravel.org/OTA/2003/05"><UniqueID Type="14" ID="4111111111111111"`), 0o644); err != nil {
		t.Fatal(err)
	}
	badMapping := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badMapping, []byte("name: bad\nmatch: {roots: [X]}\nmessage_root: [\"/*\"]\nreservations: [\"(\"]\nreservation: {confirmation: [\"@ID\"]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout []string // lines the report must contain
		stderr string
	}{
		{"public samples", []string{publicSamples}, exitChecked, []string{
			"mapping auto (ota2003, ota2001)",
			"12 messages: 12 parsed into 12 records, 0 rejected; 3 records held for key resolution (no hotel code)",
			"OTA_CancelRS: 2 messages, 2 records, 1 held for key resolution; actions: cancel 2",
			"  hotel_code                 1/2    50%",
		}, ""},
		{"one file", []string{filepath.Join(publicSamples, "concur__Cancel-OTA_CancelRS.xml")}, exitChecked, []string{
			"1 messages: 1 parsed into 1 records, 0 rejected; 1 records held for key resolution",
		}, ""},
		{"a rejected message", []string{"--mapping", "ota2003", broken}, exitRejected, []string{
			"mapping ota2003",
			"3 messages: 2 parsed into 2 records, 1 rejected; 1 records held",
			"rejected: 1 messages",
			"  1  truncated XML (e.g. zz-truncated.xml)",
		}, ""},
		{"missing folder", []string{filepath.Join(t.TempDir(), "nope")}, exitCannotRun, nil, "no such file or directory"},
		{"mapping that does not load", []string{"--mapping", badMapping, publicSamples}, exitCannotRun, nil, "invalid mapping: bad.yaml"},
		{"unknown built-in mapping", []string{"--mapping", "ota1999", publicSamples}, exitCannotRun, nil, `no built-in mapping "ota1999"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := runCLIOut(t, append([]string{"mapping", "check"}, c.args...)...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, stdout, stderr)
			}
			for _, line := range c.stdout {
				if !strings.Contains(stdout, line) {
					t.Errorf("report lacks %q:\n%s", line, stdout)
				}
			}
			if !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, c.stderr)
			}
			if strings.Contains(stdout+stderr, "4111111111111111") {
				t.Error("message content printed")
			}
		})
	}
}

// TestMappingCheckS3 reads a prefix of the local S3 server: *.xml objects
// by key, other objects ignored, rejected ones named by their key.
func TestMappingCheckS3(t *testing.T) {
	testenv.SetAWSDefaults()
	endpoint := testenv.S3Endpoint(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := archive.NewClient(ctx, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	bucket := testenv.UniqueName("mapcheck")
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	objects := map[string]string{
		"vendor/a.xml":          "expedia__booking-notification-OTA_CancelRQ.xml",
		"vendor/b.xml":          "siteminder__minimum-content-OTA_HotelResNotifRQ.xml",
		"vendor/readme.txt":     "",
		"vendor/sub/c.xml":      "",
		"elsewhere/ignored.xml": "concur__Cancel-OTA_CancelRQ.xml",
	}
	for key, sample := range objects {
		body := []byte("<OTA_HotelAvailNotifRQ/>") // a message type no mapping knows
		if sample != "" {
			if body, err = os.ReadFile(filepath.Join(publicSamples, sample)); err != nil {
				t.Fatal(err)
			}
		}
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
	stdout, stderr, code := runCLIOut(t, "mapping", "check", "--s3-endpoint", endpoint, "s3://"+bucket+"/vendor")
	if code != exitRejected {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitRejected, stdout, stderr)
	}
	for _, line := range []string{
		"3 messages: 2 parsed into 2 records, 1 rejected; 0 records held",
		"  1  unknown message type (e.g. vendor/sub/c.xml)",
	} {
		if !strings.Contains(stdout, line) {
			t.Errorf("report lacks %q:\n%s", line, stdout)
		}
	}
	_, stderr, code = runCLIOut(t, "mapping", "check", "--s3-endpoint", endpoint, "s3://"+testenv.UniqueName("nobucket")+"/x")
	if code != exitCannotRun || !strings.Contains(stderr, "peek: list s3://") {
		t.Errorf("missing bucket: exit %d, stderr %q", code, stderr)
	}
}
