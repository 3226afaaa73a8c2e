package pipeline_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/archive"
	"github.com/resingest/resingest/sinks/dynamo"
)

// swappableS3 is an in-process S3 server (gofakes3) whose backend the test
// can replace, as a server restarted without its data would be.
type swappableS3 struct {
	url     string
	handler atomic.Pointer[http.Handler]
}

func startSwappableS3(t *testing.T) *swappableS3 {
	t.Helper()
	s := &swappableS3{}
	s.restart()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*s.handler.Load()).ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	s.url = "http://" + ln.Addr().String()
	return s
}

// restart replaces the backend by an empty one: every bucket is gone.
func (s *swappableS3) restart() {
	h := gofakes3.New(s3mem.New()).Server()
	s.handler.Store(&h)
}

// deniedS3 wraps the real S3 client and answers PutObject with S3's
// AccessDenied while denied is set (a policy change cannot be made on the
// local server).
type deniedS3 struct {
	archive.API
	denied atomic.Bool
}

func (d *deniedS3) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if d.denied.Load() {
		return nil, &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject",
			Err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied", Fault: smithy.FaultClient}}
	}
	return d.API.PutObject(ctx, in, optFns...)
}

// storeFault is one failure of a store as a whole.
type storeFault struct {
	sink, class string
	// fromStart: the store is broken before the first batch (else after
	// a few batches were stored).
	fromStart bool
	// withArchive: the processor also archives to an S3 server of the test.
	withArchive bool
	break_, fix func(t *testing.T, f *faultEnv)
}

// faultEnv is one subtest's stores.
type faultEnv struct {
	env    *e2e.Stores
	s3     *swappableS3
	s3c    *s3.Client
	bucket string
	denied *deniedS3
}

// TestStoreFailuresAreNotRefusals breaks a store as a whole in the middle
// of a run (a bucket gone, access denied, a DynamoDB table missing, a
// Postgres table missing) and repairs it: the batch in flight must neither
// be acknowledged nor dead-letter anything while the store is broken (it
// is retried, and the store reported stalled), and once the store is back
// every reservation is at its newest version in Postgres and DynamoDB,
// with exactly one audit row per message and no dead letter.
func TestStoreFailuresAreNotRefusals(t *testing.T) {
	t.Parallel()
	faults := map[string]storeFault{
		"archive bucket deleted then recreated": {
			sink: "archive", class: string(sinks.ClassMissing), withArchive: true,
			break_: func(t *testing.T, f *faultEnv) { f.s3.restart() },
			fix: func(t *testing.T, f *faultEnv) {
				if _, err := f.s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(f.bucket)}); err != nil {
					t.Fatalf("recreate bucket: %v", err)
				}
			},
		},
		"archive access denied": {
			sink: "archive", class: string(sinks.ClassPermission), withArchive: true,
			break_: func(t *testing.T, f *faultEnv) { f.denied.denied.Store(true) },
			fix:    func(t *testing.T, f *faultEnv) { f.denied.denied.Store(false) },
		},
		"dynamodb table missing then created": {
			sink: "dynamo", class: string(sinks.ClassMissing), fromStart: true,
			break_: func(t *testing.T, f *faultEnv) {
				ctx := context.Background()
				c := f.env.DynamoClient(t)
				if _, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(f.env.DynamoTable)}); err != nil {
					t.Fatalf("delete table: %v", err)
				}
				deadline := time.Now().Add(30 * time.Second)
				for {
					_, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(f.env.DynamoTable)})
					var nf *types.ResourceNotFoundException
					if errors.As(err, &nf) {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("table still there 30s after DeleteTable: %v", err)
					}
					time.Sleep(100 * time.Millisecond)
				}
			},
			fix: func(t *testing.T, f *faultEnv) {
				if err := dynamo.EnsureTable(context.Background(), f.env.DynamoClient(t), f.env.DynamoTable); err != nil {
					t.Fatalf("recreate table: %v", err)
				}
			},
		},
		"postgres table missing then restored": {
			sink: "postgres", class: string(sinks.ClassMissing),
			break_: func(t *testing.T, f *faultEnv) {
				pgExec(t, f.env.PostgresURL, "ALTER TABLE reservations RENAME TO reservations_away")
			},
			fix: func(t *testing.T, f *faultEnv) {
				pgExec(t, f.env.PostgresURL, "ALTER TABLE reservations_away RENAME TO reservations")
			},
		},
	}
	for name, fault := range faults {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runStoreFault(t, fault)
		})
	}
}

func pgExec(t *testing.T, url, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func runStoreFault(t *testing.T, fault storeFault) {
	began := time.Now()
	const (
		messages  = 400
		batchSize = 40
	)
	f := &faultEnv{env: e2e.Env(t)}
	c := e2e.WriteCorpus(t, t.TempDir(), messages, 31, 0)
	want := c.Expected(t)
	msgs := make([]pipeline.Message, len(c.Files))
	for i, file := range c.Files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = pipeline.Message{Value: b, Source: "file", Partition: "storefail", Position: strconv.Itoa(i), ReceivedAt: time.Now()}
	}

	parser, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	metrics := pipeline.NewMetrics(prometheus.NewRegistry())
	pg := f.env.Postgres(t)
	fastBackoff := sinks.Backoff{Initial: 10 * time.Millisecond, Max: 200 * time.Millisecond}
	cfg := pipeline.Config{
		Parser: parser,
		Stores: []pipeline.NamedSink{
			{Name: "postgres", Sink: pg},
			{Name: "dynamo", Sink: dynamo.New(f.env.DynamoClient(t), dynamo.Options{
				Table: f.env.DynamoTable, MaxAttempts: 3, AttemptTimeout: 5 * time.Second, Backoff: fastBackoff})},
		},
		Ledger: pg, Metrics: metrics, Logger: testLogger(t), Backoff: fastBackoff,
		StallTimeout: 500 * time.Millisecond,
	}
	if fault.withArchive {
		f.s3 = startSwappableS3(t)
		f.bucket = testenv.UniqueName("storefail")
		f.s3c, err = archive.NewClient(context.Background(), f.s3.url)
		if err != nil {
			t.Fatal(err)
		}
		f.denied = &deniedS3{API: f.s3c}
		a := archive.New(f.denied, archive.Options{Bucket: f.bucket, MaxAttempts: 2, Backoff: fastBackoff, AttemptTimeout: 5 * time.Second, Logger: testLogger(t)})
		if err := a.EnsureBucket(context.Background()); err != nil {
			t.Fatalf("create bucket: %v", err)
		}
		cfg.Archive = &pipeline.NamedSink{Name: "archive", Sink: a}
	}
	proc, err := pipeline.NewProcessor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	next := 0
	process := func() error {
		for ; next < len(msgs); next += batchSize {
			if _, err := proc.Process(ctx, msgs[next:min(next+batchSize, len(msgs))]); err != nil {
				return err
			}
		}
		return nil
	}
	if !fault.fromStart {
		for range 3 {
			if _, err := proc.Process(ctx, msgs[next:next+batchSize]); err != nil {
				t.Fatalf("batch before the fault: %v", err)
			}
			next += batchSize
		}
	}
	fault.break_(t, f)
	broken := time.Now()
	done := make(chan error, 1)
	go func() { done <- process() }()

	// The batch is retried with the store's class, and the store reported
	// stalled, while nothing is acknowledged or dead-lettered.
	retries := metrics.SinkRetries.WithLabelValues(fault.sink, fault.class)
	for counterValue(t, retries) < 3 || !slices.Contains(proc.Stalled(), fault.sink) {
		select {
		case err := <-done:
			t.Fatalf("the run ended while %s was broken: %v", fault.sink, err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Since(broken) > 30*time.Second {
			t.Fatalf("no %s retries of class %s within 30s (got %v), stalled %v", fault.sink, fault.class, counterValue(t, retries), proc.Stalled())
		}
	}
	audited := f.env.Count(t, "audit")
	if n := f.env.Count(t, "dead_letters"); n != 0 {
		t.Errorf("%d dead letters while %s was broken, want 0", n, fault.sink)
	}
	if audited > next {
		t.Errorf("%d messages audited while the batch at %d was not stored", audited, next)
	}
	fault.fix(t, f)
	fixed := time.Now()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after the fix: %v", err)
		}
	case <-ctx.Done():
		t.Fatalf("the run did not finish after the fix")
	}
	if got := proc.Stalled(); len(got) != 0 {
		t.Errorf("stalled stores after the run: %v", got)
	}
	t.Logf("%s: broken %v (%v retries of class %s), run finished %v after the fix; %d messages, %d reservations",
		fault.sink, fixed.Sub(broken).Round(time.Millisecond), counterValue(t, retries), fault.class,
		time.Since(fixed).Round(time.Millisecond), len(msgs), len(want))
	e2e.AssertStores(t, f.env, want)
	e2e.AssertAudit(t, f.env, c)
	if fault.withArchive {
		out, err := f.s3c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(f.bucket)})
		switch {
		case err != nil:
			t.Errorf("list the archive bucket after the run: %v", err)
		case len(out.Contents) == 0:
			t.Errorf("the archive bucket is empty after the run")
		default:
			assertArchiveKeys(t, f.env.PostgresURL, out.Contents, fault.class == string(sinks.ClassPermission))
		}
	}
	t.Logf("total %v", time.Since(began).Round(time.Millisecond))
}

// assertArchiveKeys checks that every stored reservation carries the key
// of its message's archive object, under its hotel, and, when allStored
// (no object was lost with a deleted bucket), that the object exists.
func assertArchiveKeys(t *testing.T, pgURL string, objects []s3types.Object, allStored bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT hotel_code, confirmation, archive_key FROM reservations`)
	if err != nil {
		t.Fatal(err)
	}
	inBucket := map[string]bool{}
	for _, o := range objects {
		inBucket[aws.ToString(o.Key)] = true
	}
	var hotel, conf, key string
	n := 0
	_, err = pgx.ForEachRow(rows, []any{&hotel, &conf, &key}, func() error {
		n++
		switch {
		case !strings.Contains(key, "/hotel="+hotel+"/"):
			t.Errorf("reservation %s/%s: archive key %q is not under its hotel", hotel, conf, key)
		case allStored && !inBucket[key]:
			t.Errorf("reservation %s/%s: archive key %q names no object of the bucket", hotel, conf, key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("no reservation stored")
	}
}
