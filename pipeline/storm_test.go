package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/redact"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/archive"
	"github.com/resingest/resingest/sinks/postgres"
)

// Storm sizes: stormLarge poison messages of stormLargeBytes (under
// stormMaxBytes: held whole, archived) and stormHuge messages of
// stormHugeBytes (over it: refused as too large) among the corpus.
const (
	stormLarge      = 20
	stormLargeBytes = 5 << 20
	stormHuge       = 5
	stormHugeBytes  = 7 << 20
	stormMaxBytes   = 6 << 20
	// stormRSSBound is the worker's peak RSS allowed in the storm: the
	// baseline run measures ~60-65 MiB and the storm ~120-130 MiB (both in
	// the test log). Before bounded dead letters and fetches, ten 5 MB
	// poison messages took it to ~390 MB.
	stormRSSBound = 200 << 20
	stormPAN      = "4111111111111111"
)

// stormToken finds the storm index in a message's EchoToken.
var stormToken = regexp.MustCompile(`EchoToken="storm-(\d+)"`)

// stormMessage is a poison message of about size bytes: an OTA
// reservation under a root the built-in mappings do not know (the fixed
// mapping of the replay does), padded with a comment, carrying a card
// number at its very end so only the archive copy holds it.
func stormMessage(i, size int) []byte {
	head := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<OTA_HotelResSyncRQ xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="storm-%[1]d" TimeStamp="2026-05-01T10:00:00Z" Version="1.0">
<!-- `, i)
	tail := fmt.Sprintf(` -->
  <HotelReservations>
    <HotelReservation CreateDateTime="2026-04-30T09:00:00Z" ResStatus="Commit">
      <UniqueID Type="14" ID="STORM-%[1]d"/>
      <RoomStays><RoomStay>
        <TimeSpan Start="2026-06-01" End="2026-06-03"/>
        <BasicPropertyInfo HotelCode="STORM" ChainCode="RC"/>
      </RoomStay></RoomStays>
      <ResGlobalInfo>
        <Guarantee><GuaranteesAccepted><GuaranteeAccepted>
          <PaymentCard CardCode="VI" CardNumber="%[2]s" SeriesCode="123" ExpireDate="1228"/>
        </GuaranteeAccepted></GuaranteesAccepted></Guarantee>
        <Total AmountAfterTax="300.00" CurrencyCode="USD"/>
      </ResGlobalInfo>
    </HotelReservation>
  </HotelReservations>
</OTA_HotelResSyncRQ>`, i, stormPAN)
	pad := stormPadding()[:max(0, size-len(head)-len(tail))]
	return []byte(head + pad + tail)
}

// stormPadding is text of stormHugeBytes that compresses like XML does
// (snappy ~3x), not like one repeated word: the worker's fetch bound counts
// compressed bytes. Made once: snappy's window is far smaller than a
// message, so sharing it between messages compresses nothing more.
var stormPadding = sync.OnceValue(func() string {
	var b strings.Builder
	rng := rand.New(rand.NewPCG(13, 7))
	for b.Len() < stormHugeBytes {
		fmt.Fprintf(&b, "guest %d of room %d paid %d.%02d on 2026-%02d-%02d; ",
			rng.IntN(100000), rng.IntN(1000), rng.IntN(10000), rng.IntN(100), 1+rng.IntN(12), 1+rng.IntN(28))
	}
	return b.String()
})

// stormMapping writes ota2003.yaml with OTA_HotelResSyncRQ added to its
// roots: the fixed mapping the replay uses.
func stormMapping(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "parse", "mappings", "ota2003.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const last = "    - OTA_CancelRS\n"
	if !bytes.Contains(src, []byte(last)) {
		t.Fatalf("ota2003.yaml no longer lists %q under match.roots; update the test", strings.TrimSpace(last))
	}
	out := bytes.Replace(src, []byte(last), []byte(last+"    - OTA_HotelResSyncRQ\n"), 1)
	out = bytes.Replace(out, []byte("name: ota2003\n"), []byte("name: ota2003-storm\n"), 1)
	path := filepath.Join(t.TempDir(), "ota2003-storm.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// stormBucket returns a fresh bucket name on the local S3; the worker
// creates it, and it is emptied and deleted when t ends.
func stormBucket(t *testing.T) (name string, client *s3.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := archive.NewClient(ctx, testenv.S3Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	name = testenv.UniqueName("storm")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
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
	return name, client
}

// produceStorm creates topic accepting records of up to 16 MiB (like a
// real cluster configured for large messages) and sends values in order,
// unkeyed.
func produceStorm(t *testing.T, brokers []string, topic string, values [][]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic),
		kgo.ProducerBatchMaxBytes(16<<20), kgo.MaxBufferedBytes(64<<20), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	maxMsg := strconv.Itoa(16 << 20)
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 4, 1, map[string]*string{"max.message.bytes": &maxMsg}, topic); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	for _, v := range values {
		cl.Produce(ctx, &kgo.Record{Value: v}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// vmHWM reads the peak resident set size of process pid, in bytes.
func vmHWM(pid int) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// runWorker runs a worker over env's topic until it has written an audit
// row for each of total messages, reads its peak RSS (VmHWM) while it is
// still alive, and waits for it to exit idle. It returns the peak RSS.
func runWorker(t *testing.T, env *e2e.Stores, total int, extra ...string) int64 {
	t.Helper()
	args := append([]string{"consume", "--batch-size", "100", "--exit-when-idle", "3s"}, env.Args()...)
	w := e2e.Start(t, nil, append(args, extra...)...)
	pid := w.Cmd.Process.Pid
	var hwm int64
	deadline := time.Now().Add(2 * time.Minute)
	for env.Count(t, "audit") < total {
		if h, ok := vmHWM(pid); ok {
			hwm = max(hwm, h)
		}
		if w.Exited() {
			t.Fatalf("worker exited before auditing %d messages:\n%s", total, w.Output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker audited %d of %d messages within 2 minutes", env.Count(t, "audit"), total)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if h, ok := vmHWM(pid); ok {
		hwm = max(hwm, h)
	}
	if err := w.Wait(time.Minute); err != nil {
		t.Fatalf("worker: %v\n%s", err, w.Output())
	}
	// Not the kernel's maxrss of the exited child: it counts the test
	// process's own RSS from before the exec (os/exec forks with a shared
	// address space).
	if hwm == 0 {
		t.Fatal("could not read VmHWM of the worker")
	}
	return hwm
}

// TestLargeMessageStorm feeds a real worker (Kafka -> Postgres, DynamoDB,
// archive) the generated corpus with its poison plus a storm of 5 MB
// poison messages and 7 MB messages over --max-bytes, and checks that the
// dead letters in Postgres stay bounded, the archive holds the whole
// redacted 5 MB messages, a replay from the archive applies them, the
// good messages are all stored, and the worker's peak RSS stays bounded.
// It logs the peak RSS of a baseline run (the same corpus without the
// storm) and of the storm.
func TestLargeMessageStorm(t *testing.T) {
	t.Parallel()
	began := time.Now()
	step := func(what string) { t.Logf("%s done at %v", what, time.Since(began).Round(time.Millisecond)) }
	c := e2e.WriteCorpus(t, t.TempDir(), 400, 13, 10)
	want := c.Expected(t)
	var normal [][]byte
	for _, f := range c.Files {
		v, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		normal = append(normal, v)
	}
	bucketArgs := func(bucket string) []string {
		return []string{"--max-bytes", strconv.Itoa(stormMaxBytes), "--archive-bucket", bucket, "--s3-endpoint", testenv.S3Endpoint(t)}
	}

	// Baseline: the corpus alone.
	base := e2e.Env(t)
	produceStorm(t, base.Brokers, base.Topic, normal)
	baseBucket, _ := stormBucket(t)
	step("setup")
	baseRSS := runWorker(t, base, len(normal), bucketArgs(baseBucket)...)
	step("baseline")

	// Storm: the same corpus with the large messages spread through it.
	env := e2e.Env(t)
	large := make(map[int][]byte) // storm index -> message
	var values [][]byte
	every := len(normal) / (stormLarge + stormHuge)
	for i, v := range normal {
		values = append(values, v)
		if k := len(large); i%every == every-1 && k < stormLarge+stormHuge {
			size := stormLargeBytes
			if k%5 == 4 { // every fifth is over --max-bytes
				size = stormHugeBytes
			}
			large[k] = stormMessage(k, size)
			values = append(values, large[k])
		}
	}
	if len(large) != stormLarge+stormHuge {
		t.Fatalf("harness: %d large messages, want %d", len(large), stormLarge+stormHuge)
	}
	produceStorm(t, env.Brokers, env.Topic, values)
	step("produce")
	bucket, s3c := stormBucket(t)
	stormRSS := runWorker(t, env, len(values), bucketArgs(bucket)...)
	step("storm")
	t.Logf("peak RSS (VmHWM) of the worker: baseline %d MiB (%d messages), storm %d MiB (%d more messages: %d of %d MB, %d of %d MB over --max-bytes %d MiB); bound %d MiB",
		baseRSS>>20, len(normal), stormRSS>>20, len(large), stormLarge, stormLargeBytes>>20, stormHuge, stormHugeBytes>>20, stormMaxBytes>>20, stormRSSBound>>20)
	if stormRSS > stormRSSBound {
		t.Errorf("worker peak RSS %d MiB in the storm, bound %d MiB", stormRSS>>20, stormRSSBound>>20)
	}

	// Dead letters: bounded rows; large ones archived whole, huge ones not.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var rowBytes, maxRow int64
	if err := env.Postgres(t).Pool().QueryRow(ctx,
		`SELECT coalesce(sum(octet_length(message)), 0), coalesce(max(octet_length(message)), 0) FROM dead_letters`).Scan(&rowBytes, &maxRow); err != nil {
		t.Fatal(err)
	}
	letters := env.DeadLetters(t)
	if n := len(c.Poison) + len(large); len(letters) != n {
		t.Fatalf("%d dead letters, want %d (%d poison + %d large)", len(letters), n, len(c.Poison), len(large))
	}
	t.Logf("dead_letters: %d rows, %d bytes of messages in all, largest row message %d bytes (prefix bound %d)",
		len(letters), rowBytes, maxRow, pipeline.DeadLetterPrefixBytes)
	if maxRow > pipeline.DeadLetterPrefixBytes {
		t.Errorf("a dead letter keeps %d bytes of its message, bound %d", maxRow, pipeline.DeadLetterPrefixBytes)
	}
	a := archive.New(s3c, archive.Options{Bucket: bucket})
	archived, refused := 0, 0
	var firstLarge, firstHuge postgres.DeadLetter
	for _, d := range letters {
		if d.MessageBytes < pipeline.DeadLetterPrefixBytes {
			if d.Truncated || d.ArchiveKey != "" {
				t.Errorf("letter %d of %d bytes: truncated=%v key %q, want whole in the row", d.ID, d.MessageBytes, d.Truncated, d.ArchiveKey)
			}
			continue
		}
		if !d.Truncated || bytes.Contains(d.Message, []byte(stormPAN)) {
			t.Errorf("letter %d of %d bytes: truncated=%v, or its prefix holds the card number", d.ID, d.MessageBytes, d.Truncated)
		}
		switch d.MessageBytes {
		case stormHugeBytes:
			refused++
			if firstHuge.ID == 0 {
				firstHuge = d
			}
			wantReason := fmt.Sprintf("message too large: %d bytes, limit %d", stormHugeBytes, stormMaxBytes)
			if !strings.HasPrefix(d.Reason, wantReason) || d.ArchiveKey != "" {
				t.Errorf("too-large letter %d: reason %q, key %q; want %q..., no archive copy", d.ID, d.Reason, d.ArchiveKey, wantReason)
			}
		case stormLargeBytes:
			archived++
			whole, err := a.ReadDeadLetter(ctx, d.ArchiveKey)
			if err != nil {
				t.Fatalf("letter %d: %v", d.ID, err)
			}
			k := stormIndex(t, &d)
			if firstLarge.ID == 0 {
				firstLarge = d
			}
			if !bytes.Equal(whole, redact.Redact(large[k])) {
				t.Errorf("letter %d: the archived message (%d bytes) is not a redacted storm message", d.ID, len(whole))
			}
			if bytes.Contains(whole, []byte(stormPAN)) {
				t.Errorf("letter %d: the archived message holds the card number", d.ID)
			}
		default:
			t.Errorf("letter %d: %d bytes, not a storm size", d.ID, d.MessageBytes)
		}
	}
	if archived != stormLarge || refused != stormHuge {
		t.Errorf("%d letters archived whole and %d refused as too large, want %d and %d", archived, refused, stormLarge, stormHuge)
	}
	if n := env.Count(t, "audit"); n != len(values) {
		t.Errorf("%d audit rows, want one per message: %d", n, len(values))
	}
	step("letters")
	e2e.AssertStores(t, env, want)
	step("stores")

	// Replay with the fixed mapping: a 5 MB letter from its archive copy;
	// a too-large one cannot be replayed from its prefix.
	replay := func(id int64) (string, error) {
		args := []string{"dlq", "replay", "--id", strconv.FormatInt(id, 10), "--mapping", stormMapping(t),
			"--pg-url", env.PostgresURL, "--dynamo-endpoint", env.DynamoEndpoint, "--dynamo-table", env.DynamoTable}
		stdout, stderr, err := e2e.Run(t, 2*time.Minute, append(args, bucketArgs(bucket)...)...)
		return string(stdout) + string(stderr), err
	}
	if out, err := replay(firstLarge.ID); err != nil || !strings.Contains(out, "1 dead letters: 1 replayed (stored 1), 0 still failing") {
		t.Errorf("dlq replay --id %d (archived): %v\n%s", firstLarge.ID, err, out)
	}
	k := stormIndex(t, &firstLarge)
	if _, _, err := env.Postgres(t).Get(ctx, reservation.Key{HotelCode: "STORM", Confirmation: "STORM-" + strconv.Itoa(k)}); err != nil {
		t.Errorf("storm message %d not stored by the replay from the archive: %v", k, err)
	}
	if out, err := replay(firstHuge.ID); err == nil || !strings.Contains(out, "cannot be replayed from the prefix") {
		t.Errorf("dlq replay --id %d (too large) did not fail saying it cannot be replayed from the prefix: %v\n%s", firstHuge.ID, err, out)
	}
	step("replay")
}

// stormIndex returns the storm index the prefix of d names
// (EchoToken="storm-K").
func stormIndex(t *testing.T, d *postgres.DeadLetter) int {
	t.Helper()
	m := stormToken.FindSubmatch(d.Message)
	if m == nil {
		t.Fatalf("letter %d: its prefix names no storm message", d.ID)
	}
	k, _ := strconv.Atoi(string(m[1]))
	return k
}
