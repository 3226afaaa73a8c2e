package archive

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// testTimeout bounds what one test waits for the S3 server.
const testTimeout = time.Minute

// archiveDay is the clock of the test sinks.
var archiveDay = time.Date(2024, 5, 1, 23, 59, 30, 0, time.FixedZone("CEST", 2*3600))

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func testClient(t testing.TB) *s3.Client {
	t.Helper()
	c, err := NewClient(testContext(t), testenv.S3Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testBucket returns a fresh bucket name; the bucket and its objects are
// deleted when t ends (if it was created).
func testBucket(t testing.TB, c *s3.Client) string {
	t.Helper()
	name := testenv.UniqueName("test-archive")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)}); err != nil {
			return // never created
		}
		for keys := range slices.Chunk(listKeys(t, c, name), 1000) {
			ids := make([]s3types.ObjectIdentifier, len(keys))
			for i, k := range keys {
				ids[i] = s3types.ObjectIdentifier{Key: aws.String(k)}
			}
			if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{
				Bucket: aws.String(name), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)},
			}); err != nil {
				t.Errorf("delete objects of %s: %v", name, err)
			}
		}
		if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)}); err != nil {
			t.Errorf("delete bucket %s: %v", name, err)
		}
	})
	return name
}

// newTestSink returns a sink on a fresh, ensured bucket, with fast retries
// and the archiveDay clock unless opts say otherwise.
func newTestSink(t testing.TB, c *s3.Client, opts Options) *Sink {
	t.Helper()
	if opts.Bucket == "" {
		opts.Bucket = testBucket(t, c)
	}
	if opts.Backoff == (sinks.Backoff{}) {
		opts.Backoff = sinks.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return archiveDay }
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := New(c, opts)
	if err := s.EnsureBucket(testContext(t)); err != nil {
		t.Fatalf("EnsureBucket: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// listKeys lists every key of bucket, sorted.
func listKeys(t testing.TB, c *s3.Client, bucket string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var keys []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	slices.Sort(keys)
	return keys
}

// objectBytes returns the stored (compressed) bytes of key.
func objectBytes(t testing.TB, c *s3.Client, bucket, key string) []byte {
	t.Helper()
	out, err := c.GetObject(testContext(t), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

// message renders an OTA_HotelResNotifRQ carrying one reservation per
// confirmation, with a full test card number and CVV.
func message(id, hotel string, confs ...string) []byte {
	s := `<?xml version="1.0" encoding="UTF-8"?>
<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="` + id + `" TimeStamp="2024-05-01T12:00:00Z" Version="1.0">
  <HotelReservations>`
	for _, c := range confs {
		s += `
    <HotelReservation CreateDateTime="2024-04-01T09:00:00Z" ResStatus="Book">
      <UniqueID Type="14" ID="` + c + `"/>
      <RoomStays><RoomStay><BasicPropertyInfo HotelCode="` + hotel + `"/></RoomStay></RoomStays>
      <ResGlobalInfo><Guarantee><GuaranteesAccepted><GuaranteeAccepted>
        <PaymentCard CardCode="VI" CardNumber="4111111111111111" SeriesCode="737" ExpireDate="1229"/>
      </GuaranteeAccepted></GuaranteesAccepted></Guarantee></ResGlobalInfo>
    </HotelReservation>`
	}
	return []byte(s + `
  </HotelReservations>
</OTA_HotelResNotifRQ>
`)
}

// record is the record of reservation conf of hotel extracted from raw.
// Raw is deliberately not redacted: the sink must redact it anyway.
func record(t testing.TB, id, hotel, conf string, raw []byte) sinks.Record {
	t.Helper()
	r := reservation.Reservation{
		MessageType: "OTA_HotelResNotifRQ", MessageID: id, MessageTime: "2024-05-01T12:00:00Z",
		Action: reservation.ActionCreate, Status: "Book", Confirmation: conf, HotelCode: hotel,
		CreatedAt: "2024-04-01T09:00:00Z",
	}
	r.Normalize()
	v, err := reservation.VersionOf(&r, "42")
	if err != nil {
		t.Fatal(err)
	}
	return sinks.Record{Reservation: r, Version: v, Raw: raw}
}

// records makes one record per confirmation of one message.
func records(t testing.TB, id, hotel string, confs ...string) []sinks.Record {
	raw := message(id, hotel, confs...)
	var out []sinks.Record
	for _, c := range confs {
		out = append(out, record(t, id, hotel, c, raw))
	}
	return out
}

func mustWrite(t testing.TB, s *Sink, recs []sinks.Record) []sinks.Result {
	t.Helper()
	res, err := s.Write(testContext(t), recs)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if len(res) != len(recs) {
		t.Fatalf("Write returned %d results for %d records", len(res), len(recs))
	}
	return res
}

func describe(res []sinks.Result) string {
	s := ""
	for i, r := range res {
		s += fmt.Sprintf("[%d %s %v] ", i, r.Outcome, r.Err)
	}
	return s
}
