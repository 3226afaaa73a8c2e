package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/pipeline"
)

// legacySample is an OTA 2001B message: only the ota2001 mapping reads it.
const legacySample = "../../../shared/samples/public/OpenTravel__OpenTravel-Specifications__OTA2001B_OTA_HotelResNotifRQ-Sample.xml"

// unreachablePG makes any store access fail: a dry run must not need it.
const unreachablePG = "postgres://resingest@127.0.0.1:1/none?connect_timeout=1"

func wantLines(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l) {
			t.Errorf("output lacks %q:\n%s", l, out)
		}
	}
}

// TestConsumeDryRunFilesAndMappingPerSource: a drop folder read with
// --dry-run (no store opened: the Postgres URL is unreachable), once with the
// folder's --mapping-per-source entry (ota2001: the legacy message parses)
// and once with the list naming another folder (--mapping ota2003 applies:
// it is rejected).
func TestConsumeDryRunFilesAndMappingPerSource(t *testing.T) {
	dir := copySamples(t, "concur__Cancel-OTA_CancelRS.xml")
	legacy, err := os.ReadFile(legacySample)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "legacy.xml"), legacy, 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"consume", "--dry-run", "--source", "file", "--path", dir, "--pg-url", unreachablePG, "--mapping", "ota2003"}

	stdout, stderr, code := runCLIOut(t, append(base, "--mapping-per-source", "kafka:other=ota2003,file:"+dir+"/=ota2001")...)
	if code != exitRejected { // the Concur OTA_CancelRS is not OTA 2001B
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	wantLines(t, stdout, "dry run of file "+dir+" with mapping ota2001 (nothing stored or committed)",
		"2 messages: 1 parsed into 1 records, 1 rejected",
		"OTA_HotelResNotifRQ: 1 messages, 1 records, 0 held")

	stdout, stderr, code = runCLIOut(t, append(base, "--mapping-per-source", "file:/elsewhere=ota2001")...)
	if code != exitRejected {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	wantLines(t, stdout, "with mapping ota2003", "2 messages: 1 parsed into 1 records, 1 rejected; 1 records held",
		"OTA_CancelRS: 1 messages, 1 records, 1 held for key resolution; actions: cancel 1")

	// A bad entry stops the worker at start, whichever source it names.
	_, stderr, code = runCLIOut(t, append(base, "--mapping-per-source", "kinesis:s=nosuchmapping")...)
	if code != 1 || !strings.Contains(stderr, `invalid per-source mapping: kinesis:s: invalid mapping: no built-in mapping "nosuchmapping"`) {
		t.Errorf("bad entry: exit %d, stderr %q", code, stderr)
	}
	// Without --dry-run the same flags need the store: it fails.
	if _, _, code := runCLIOut(t, "consume", "--source", "file", "--path", dir, "--pg-url", unreachablePG, "--sinks", "postgres"); code == 0 {
		t.Error("a real run with an unreachable Postgres succeeded: the dry-run check above proves nothing")
	}
}

// TestConsumeDryRunKafka reads a topic of the local Kafka twice with
// --dry-run: both runs see every message (nothing was consumed for good) and
// the worker's group has no committed offset (it never joined).
func TestConsumeDryRunKafka(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topic, group := testenv.UniqueName("dryrun"), testenv.UniqueName("dryrun-group")
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = adm.DeleteTopics(context.Background(), topic) })
	var recs []*kgo.Record
	for _, n := range []string{"expedia__booking-notification-OTA_CancelRQ.xml", "concur__Cancel-OTA_CancelRQ.xml", "siteminder__minimum-content-initial-cancellation.xml"} {
		b, err := os.ReadFile(filepath.Join(publicSamples, n))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(n), Value: b})
	}
	recs = append(recs, &kgo.Record{Topic: topic, Key: []byte("x"), Value: []byte("not xml")})
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		stdout, stderr, code := runCLIOut(t, "consume", "--dry-run", "--source", "kafka", "--brokers", strings.Join(brokers, ","),
			"--topic", topic, "--group", group, "--exit-when-idle", "2s", "--pg-url", unreachablePG)
		if code != exitRejected {
			t.Fatalf("run %d: exit %d\n%s\n%s", run, code, stdout, stderr)
		}
		wantLines(t, stdout, "dry run of kafka "+topic,
			"4 messages: 3 parsed into 3 records, 1 rejected; 1 records held for key resolution",
			"OTA_CancelRQ: 2 messages, 2 records, 1 held for key resolution; actions: cancel 2",
			"  1  not XML (e.g. "+topic+"/")
	}
	// A topic that does not exist is an error, not an empty report.
	missing := testenv.UniqueName("dryrun-missing")
	stdout, stderr, code := runCLIOut(t, "consume", "--dry-run", "--source", "kafka", "--brokers", strings.Join(brokers, ","),
		"--topic", missing, "--exit-when-idle", "1s")
	if code != exitCannotRun || stdout != "" || !strings.Contains(stderr, `topic "`+missing+`" does not exist`) {
		t.Errorf("missing topic: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	offsets, err := adm.FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return // the group was never created: nothing committed
	}
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	offsets.Each(func(o kadm.OffsetResponse) {
		if o.At >= 0 {
			n++
		}
	})
	if n != 0 {
		t.Errorf("group %s has %d committed offsets after a dry run", group, n)
	}
}

// TestConsumeDryRunKinesis reads a 2-shard kinesalite stream without
// leases or checkpoints.
func TestConsumeDryRunKinesis(t *testing.T) {
	testenv.SetAWSDefaults()
	endpoint := testenv.KinesisEndpoint(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := pipeline.NewKinesisClient(ctx, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	stream := testenv.UniqueName("dryrun")
	if _, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String(stream)})
	})
	for {
		out, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("stream not active")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i, n := range []string{"expedia__booking-notification-OTA_CancelRS.xml", "concur__Cancel-OTA_CancelRS.xml", "concur__Reservation-OTA_HotelResRS.xml"} {
		b, err := os.ReadFile(filepath.Join(publicSamples, n))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), Data: b, PartitionKey: aws.String(strings.Repeat("k", i+1))}); err != nil {
			t.Fatal(err)
		}
	}
	stdout, stderr, code := runCLIOut(t, "consume", "--dry-run", "--source", "kinesis", "--stream", stream, "--kinesis-endpoint", endpoint,
		"--exit-when-idle", "2s", "--pg-url", unreachablePG, "--dynamo-endpoint", "http://127.0.0.1:1")
	if code != exitChecked {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	wantLines(t, stdout, "dry run of kinesis "+stream,
		"3 messages: 3 parsed into 3 records, 0 rejected; 1 records held for key resolution",
		"OTA_CancelRS: 2 messages, 2 records, 1 held for key resolution; actions: cancel 2",
		"OTA_HotelResRS: 1 messages, 1 records, 0 held for key resolution; actions: create 1")
}
