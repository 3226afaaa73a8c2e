package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/redact"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/archive"
	"github.com/resingest/resingest/sinks/postgres"
)

// largeMessage is replayMessage padded past DeadLetterPrefixBytes with a
// comment, with a second card number after the padding: only the archive
// copy holds it.
func largeMessage(root, hotel, conf string, pad int) []byte {
	msg := replayMessage(root, hotel, conf)
	head := bytes.Index(msg, []byte("<HotelReservations>"))
	var b bytes.Buffer
	b.Write(msg[:head])
	b.WriteString("<!-- ")
	b.Write(bytes.Repeat([]byte("padding "), pad/8))
	b.WriteString(" -->\n")
	rest := bytes.Replace(msg[head:], []byte(`<Total `),
		[]byte(`<PaymentCard CardCode="MC" CardNumber="5555555555554444" SeriesCode="321"/><Total `), 1)
	b.Write(rest)
	return b.Bytes()
}

// testArchive returns an archive sink on a fresh bucket of the local S3,
// emptied and deleted when t ends.
func testArchive(t *testing.T, ctx context.Context) *archive.Sink {
	t.Helper()
	client, err := archive.NewClient(ctx, testenv.S3Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	bucket := testenv.UniqueName("test-deadletters")
	a := archive.New(client, archive.Options{Bucket: bucket, GlacierAfterDays: -1})
	if err := a.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Logf("cleanup: list %s: %v", bucket, err)
				return
			}
			for _, o := range page.Contents {
				_, _ = client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			}
		}
		_, _ = client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	})
	return a
}

// letterProcessor writes to pg (and the archive when a is set), parsing
// with mapping and accepting messages of up to maxBytes.
func letterProcessor(t *testing.T, pg *postgres.Sink, a *archive.Sink, mapping string, maxBytes int) *Processor {
	t.Helper()
	parser, err := parse.New(parse.Options{Mapping: mapping, Limits: parse.Limits{MaxBytes: maxBytes}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Parser: parser, Stores: []NamedSink{{Name: "postgres", Sink: pg}}, Ledger: pg}
	if a != nil {
		cfg.Archive = &NamedSink{Name: "archive", Sink: a}
		cfg.DeadLetterArchive = a
	}
	proc, err := NewProcessor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return proc
}

// TestDeadLetterPrefixAndArchive: a poison message larger than the prefix
// keeps 64 KiB in Postgres and its whole redacted self in the archive,
// from where a replay applies it; without an archive it is truncated and
// the replay says it cannot be replayed; a message over --max-bytes is
// refused as too large and never archived.
func TestDeadLetterPrefixAndArchive(t *testing.T) {
	t.Parallel()
	const maxBytes = 2 << 20
	big := largeMessage("OTA_HotelResSyncRQ", "BIG1", "BIG-1", 1<<20)
	small := replayMessage("OTA_HotelResSyncRQ", "SMALL1", "SMALL-1")
	huge, hugeSize := CutOversized(big, 3<<20, maxBytes) // a source cut a 3 MiB message

	for _, withArchive := range []bool{true, false} {
		t.Run(fmt.Sprintf("archive=%v", withArchive), func(t *testing.T) {
			t.Parallel()
			// The deadline starts when the subtest does: a parallel
			// subtest may wait minutes for a slot on a 2-core machine.
			ctx := replayContext(t)
			pg := replayPostgres(t, ctx)
			var a *archive.Sink
			if withArchive {
				a = testArchive(t, ctx)
			}
			proc := letterProcessor(t, pg, a, parse.AutoMapping, maxBytes)
			msgs := []Message{
				{Value: big, Source: "kafka", Partition: "t/0", Position: "1", ReceivedAt: time.Now()},
				{Value: small, Source: "kafka", Partition: "t/0", Position: "2", ReceivedAt: time.Now()},
				{Value: huge, Size: hugeSize, Source: "kafka", Partition: "t/0", Position: "3", ReceivedAt: time.Now()},
			}
			out, err := proc.Process(ctx, msgs)
			if err != nil {
				t.Fatal(err)
			}
			for i, o := range out {
				if o != OutcomeDeadLettered {
					t.Fatalf("message %d: %s, want dead_lettered", i+1, o)
				}
			}
			letters := replayLetters(t, ctx, pg)
			if len(letters) != 3 {
				t.Fatalf("%d dead letters, want 3", len(letters))
			}
			bigL, smallL, hugeL := letters[0], letters[1], letters[2]

			// Each letter has its reason's class and, when its first 64
			// KiB name one, its hotel: the large messages' hotel code
			// comes after the padding.
			unknown := parse.ErrUnknownMessage.Error()
			for _, c := range []struct {
				name         string
				d            postgres.DeadLetter
				class, hotel string
			}{
				{"large", bigL, unknown, ""},
				{"small", smallL, unknown, "SMALL1"},
				{"too large", hugeL, parse.ErrTooLarge.Error(), ""},
			} {
				if c.d.ReasonClass != c.class || c.d.HotelCode != c.hotel {
					t.Errorf("%s letter: class %q, hotel %q; want %q, %q", c.name, c.d.ReasonClass, c.d.HotelCode, c.class, c.hotel)
				}
			}

			// The large poison message: a prefix, cut after an element.
			if !bigL.Truncated || bigL.MessageBytes != int64(len(big)) || len(bigL.Message) > DeadLetterPrefixBytes {
				t.Errorf("large letter: truncated=%v bytes=%d row=%d, want truncated, %d, <= %d",
					bigL.Truncated, bigL.MessageBytes, len(bigL.Message), len(big), DeadLetterPrefixBytes)
			}
			if !bytes.Equal(bigL.Message, redact.Redact(big)[:DeadLetterPrefixBytes]) || bytes.Contains(bigL.Message, []byte(replayPAN)) {
				t.Errorf("large letter's row is not the first %d bytes of the redacted message, or holds the card number: ...%q", DeadLetterPrefixBytes, tail(bigL.Message))
			}
			if withArchive {
				if !strings.Contains(bigL.ArchiveKey, archive.DeadLetterFolder+"/") {
					t.Fatalf("large letter's archive key %q is not under %s/", bigL.ArchiveKey, archive.DeadLetterFolder)
				}
				whole, err := a.ReadDeadLetter(ctx, bigL.ArchiveKey)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(whole, redact.Redact(big)) {
					t.Errorf("archived letter (%d bytes) is not the redacted message (%d bytes)", len(whole), len(big))
				}
				if bytes.Contains(whole, []byte("5555555555554444")) || !bytes.Contains(whole, []byte("4444")) {
					t.Errorf("archived letter: the second card number is not masked to its last four digits")
				}
			} else if bigL.ArchiveKey != "" {
				t.Errorf("large letter without archive has key %q", bigL.ArchiveKey)
			}

			// The small one is kept whole.
			if smallL.Truncated || smallL.ArchiveKey != "" || !bytes.Equal(smallL.Message, redact.Redact(small)) ||
				smallL.MessageBytes != int64(len(small)) {
				t.Errorf("small letter: truncated=%v key=%q bytes=%d, want whole, no key, %d",
					smallL.Truncated, smallL.ArchiveKey, smallL.MessageBytes, len(small))
			}

			// The oversized one: refused, never archived.
			wantReason := fmt.Sprintf("message too large: %d bytes, limit %d", 3<<20, maxBytes)
			if !strings.HasPrefix(hugeL.Reason, wantReason) || !hugeL.Truncated || hugeL.ArchiveKey != "" ||
				hugeL.MessageBytes != 3<<20 || len(hugeL.Message) > DeadLetterPrefixBytes {
				t.Errorf("too-large letter: reason %q truncated=%v key=%q bytes=%d row=%d; want reason %q..., truncated, no key",
					hugeL.Reason, hugeL.Truncated, hugeL.ArchiveKey, hugeL.MessageBytes, len(hugeL.Message), wantReason)
			}

			// Replay with the fixed mapping.
			fixed := letterProcessor(t, pg, a, replayMapping(t), maxBytes)
			rep, err := Replay(ctx, pg, fixed, ReplayOptions{})
			if err != nil {
				t.Fatal(err)
			}
			wantReplayed, wantFailing := 2, 1
			if !withArchive {
				wantReplayed, wantFailing = 1, 2
			}
			if rep.Replayed != wantReplayed || rep.StillFailing != wantFailing {
				t.Fatalf("replay: %d replayed, %d still failing (%+v); want %d, %d", rep.Replayed, rep.StillFailing, rep.Failures, wantReplayed, wantFailing)
			}
			for _, f := range rep.Failures {
				if f.ID == hugeL.ID || (!withArchive && f.ID == bigL.ID) {
					if !strings.Contains(f.Reason, "cannot be replayed from the prefix") {
						t.Errorf("letter %d: replay failure %q does not say it cannot be replayed from the prefix", f.ID, f.Reason)
					}
					continue
				}
				t.Errorf("unexpected replay failure: %+v", f)
			}
			_, _, err = pg.Get(ctx, reservation.Key{HotelCode: "BIG1", Confirmation: "BIG-1"})
			if withArchive && err != nil {
				t.Errorf("the large message replayed from the archive is not stored: %v", err)
			}
			if !withArchive && err == nil {
				t.Errorf("the large message was stored although no archive copy exists")
			}
		})
	}
}

func tail(b []byte) []byte { return b[max(0, len(b)-40):] }

// TestPrefixOf: a prefix of a message redacted whole is cut anywhere; one
// of a message a source cut short never ends inside an element's text or
// attribute. Either is a copy.
func TestPrefixOf(t *testing.T) {
	long := bytes.Repeat([]byte("<a>x</a>"), DeadLetterPrefixBytes/8)
	head := long[:DeadLetterPrefixBytes-10] // ends inside "</a>"
	headCut := head[:bytes.LastIndexByte(head, '>')+1]
	attr := append(append([]byte{}, head...), []byte(`<P C="41111111111111111111`)...)
	cases := []struct {
		name  string
		in    []byte
		whole bool
		want  []byte
	}{
		{"cut short: text after the last element dropped", []byte("<a>1</a><b>4111 11"), false, []byte("<a>1</a><b>")},
		{"cut short: whole element kept", []byte("<a>1</a>"), false, []byte("<a>1</a>")},
		{"cut short: cut inside an attribute", attr, false, headCut},
		{"cut short: no element, digits dropped", append(bytes.Repeat([]byte("z"), 10), []byte("4111 1111-1111")...), false, bytes.Repeat([]byte("z"), 10)},
		{"redacted whole: cut at the bound", attr, true, attr[:DeadLetterPrefixBytes]},
		{"redacted whole: short kept whole", []byte("<a>1</a><b>4111 11"), true, []byte("<a>1</a><b>4111 11")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := prefixOf(c.in, c.whole)
			if !bytes.Equal(got, c.want) {
				t.Errorf("prefixOf = ...%q (%d bytes), want ...%q (%d bytes)", tail(got), len(got), tail(c.want), len(c.want))
			}
			if len(got) > 0 && &got[0] == &c.in[0] {
				t.Error("prefixOf returned a window on its input, not a copy")
			}
		})
	}
}

// TestReadLimitedStatsFirst: a file over the limit is not read whole.
func TestReadLimitedStatsFirst(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name             string
		size, maxBytes   int
		wantLen, wantCut int
	}{
		{"under the limit", 1000, 2000, 1000, 0},
		{"at the limit", 2000, 2000, 2000, 0},
		{"over the limit", 3 << 20, 1 << 20, DeadLetterPrefixBytes, 3 << 20},
		{"over a limit below the prefix", 50_000, 10_000, 50_000, 50_000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".xml")
			if err := os.WriteFile(name, bytes.Repeat([]byte("x"), c.size), 0o600); err != nil {
				t.Fatal(err)
			}
			value, size, err := readLimited(name, c.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			if len(value) != c.wantLen || size != c.wantCut || cap(value) > c.wantLen+1 {
				t.Errorf("readLimited: %d bytes (cap %d), size %d; want %d bytes, size %d", len(value), cap(value), size, c.wantLen, c.wantCut)
			}
		})
	}
}

// TestCutOversizedRecords: an oversized Kafka record keeps a copied
// prefix, and then no value is a window on the fetch buffer any more.
func TestCutOversizedRecords(t *testing.T) {
	fetch := make([]byte, 3<<20+100) // one fetch response: a big record and a small one
	big, small := &kgo.Record{Value: fetch[:3<<20]}, &kgo.Record{Value: fetch[3<<20:]}
	sizes := cutOversizedRecords([]*kgo.Record{big, small}, 1<<20)
	if sizes[0] != 3<<20 || sizes[1] != 0 {
		t.Fatalf("sizes %v, want [%d 0]", sizes, 3<<20)
	}
	if len(big.Value) != DeadLetterPrefixBytes || cap(big.Value) > DeadLetterPrefixBytes+64 {
		t.Errorf("big record keeps %d bytes (cap %d), want a %d-byte copy", len(big.Value), cap(big.Value), DeadLetterPrefixBytes)
	}
	if &big.Value[0] == &fetch[0] || &small.Value[0] == &fetch[3<<20] || len(small.Value) != 100 {
		t.Error("a record value still points into the fetch buffer")
	}
	untouched := &kgo.Record{Value: fetch[:100]}
	if cutOversizedRecords([]*kgo.Record{untouched}, 1<<20)[0] != 0 || &untouched.Value[0] != &fetch[0] {
		t.Error("a batch without oversized records was copied")
	}
}

// TestDeadLetterArchiveMissingBucket: when the archive cannot keep a large
// letter's whole message (its bucket is gone), the batch is not
// acknowledged: no dead letter and no audit row are written, so the
// message is redelivered once the bucket is back.
func TestDeadLetterArchiveMissingBucket(t *testing.T) {
	t.Parallel()
	ctx := replayContext(t)
	pg := replayPostgres(t, ctx)
	client, err := archive.NewClient(ctx, testenv.S3Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	bucket := testenv.UniqueName("missing") // never created
	a := archive.New(client, archive.Options{Bucket: bucket, MaxAttempts: 1})
	proc := letterProcessor(t, pg, a, parse.AutoMapping, 2<<20)
	big := largeMessage("OTA_HotelResSyncRQ", "BIG1", "BIG-1", 200_000)
	// Whether a missing bucket fails at once or is retried until the
	// deadline, the batch must end unacknowledged.
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = proc.Process(pctx, []Message{{Value: big, Source: "kafka", Partition: "t/0", Position: "1", ReceivedAt: time.Now()}})
	if err == nil || !strings.Contains(err.Error(), bucket) {
		t.Fatalf("Process: %v, want an error naming bucket %s", err, bucket)
	}
	var rows int
	if err := pg.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM dead_letters) + (SELECT count(*) FROM audit)`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Errorf("%d dead-letter and audit rows written for an unacknowledged batch, want none", rows)
	}
}
