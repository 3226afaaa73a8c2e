package archive

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/resingest/resingest/sinks"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("archive: sink closed")

// API is the part of the S3 client the sink uses; *s3.Client implements it.
type API interface {
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	CreateBucket(ctx context.Context, in *s3.CreateBucketInput, optFns ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
	PutBucketLifecycleConfiguration(ctx context.Context, in *s3.PutBucketLifecycleConfigurationInput, optFns ...func(*s3.Options)) (*s3.PutBucketLifecycleConfigurationOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Defaults applied by New to zero Options fields.
const (
	DefaultGlacierAfterDays = 30
	DefaultMaxInFlight      = 8
	DefaultMaxAttempts      = 5
	DefaultAttemptTimeout   = 30 * time.Second
)

// Options configures a Sink. Bucket is required; the rest has defaults.
type Options struct {
	// Bucket receives the archive.
	Bucket string
	// Prefix is prepended to every key ("<prefix>/dt=..."); leading and
	// trailing slashes are dropped. Empty: keys start with "dt=".
	Prefix string
	// GlacierAfterDays is the age at which EnsureBucket's lifecycle rule
	// moves objects to Glacier: DefaultGlacierAfterDays when 0; a negative
	// value leaves the bucket's lifecycle alone (for buckets shared with
	// other rules, which a lifecycle put would replace).
	GlacierAfterDays int
	// KMSKeyID selects SSE-KMS with that key; empty means SSE-S3 (AES256).
	KMSKeyID string
	// Sealer, when set, also encrypts every object client-side (pii
	// envelope encryption bound to the object key): the raw messages carry
	// guests' names and contacts, and server-side encryption alone leaves
	// them readable to anyone allowed to GET the object. Read opens them.
	Sealer Sealer
	// MaxInFlight bounds concurrent PutObject calls per Write;
	// DefaultMaxInFlight when <= 0.
	MaxInFlight int
	// MaxAttempts bounds the puts of one object (first try included);
	// DefaultMaxAttempts when <= 0.
	MaxAttempts int
	// Backoff paces retries of transient errors.
	Backoff sinks.Backoff
	// AttemptTimeout bounds one PutObject, and one read of an object
	// (GetObject and its body); DefaultAttemptTimeout when <= 0. A
	// timed-out put is retried; a timed-out read fails.
	AttemptTimeout time.Duration
	// Now is the clock that picks the archive day and stamps entries;
	// time.Now when nil.
	Now func() time.Time
	// Logger receives retry notices (keys only, never message content);
	// slog.Default() when nil.
	Logger *slog.Logger
}

// Sealer seals and opens whole objects (pii.Keyring).
type Sealer interface {
	SealBlob(purpose string, plain []byte) ([]byte, error)
	OpenBlob(ctx context.Context, purpose string, b []byte) ([]byte, error)
}

// sealPurpose binds a sealed object to its key, so an object copied to
// another key does not open.
func sealPurpose(key string) string { return "archive:" + key }

// Stats counts what the sink did since it was made.
type Stats struct {
	Objects    int64 // objects written
	Entries    int64 // messages archived (after de-duplication)
	RawBytes   int64 // JSON Lines bytes before compression
	Bytes      int64 // compressed bytes written
	Attempts   int64 // PutObject calls
	Retries    int64 // puts repeated after a transient error
	Stored     int64 // records reported Stored
	FailedRecs int64 // records reported Failed
}

// Sink archives raw messages to S3. It is safe for concurrent use; Close
// waits for the Writes in progress.
type Sink struct {
	api  API
	opts Options

	gate sinks.Gate // Write enters, Close closes

	objects, entries, rawBytes, bytes atomic.Int64
	attempts, retries                 atomic.Int64
	stored, failed                    atomic.Int64
}

// New returns a sink writing to opts.Bucket through api.
func New(api API, opts Options) *Sink {
	opts.Prefix = strings.Trim(opts.Prefix, "/")
	if opts.GlacierAfterDays == 0 {
		opts.GlacierAfterDays = DefaultGlacierAfterDays
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = DefaultAttemptTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Sink{api: api, opts: opts}
}

// Bucket returns the bucket the sink writes to.
func (s *Sink) Bucket() string { return s.opts.Bucket }

// Stats returns a snapshot of the counters.
func (s *Sink) Stats() Stats {
	return Stats{
		Objects: s.objects.Load(), Entries: s.entries.Load(),
		RawBytes: s.rawBytes.Load(), Bytes: s.bytes.Load(),
		Attempts: s.attempts.Load(), Retries: s.retries.Load(),
		Stored: s.stored.Load(), FailedRecs: s.failed.Load(),
	}
}

// Close stops accepting writes and waits for those in progress (cancel
// their context to make them give up sooner). It does not close the
// client, which the caller owns. Close is idempotent.
func (s *Sink) Close() error {
	s.gate.Close()
	return nil
}
