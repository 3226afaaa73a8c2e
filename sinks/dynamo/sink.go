package dynamo

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/resingest/resingest/sinks"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("dynamo: sink closed")

// API is the part of the DynamoDB client the sink uses; *dynamodb.Client
// implements it.
type API interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

// Options configures a Sink. The zero value is usable.
type Options struct {
	// Table is the table name; DefaultTable when empty.
	Table string
	// MaxInFlight bounds concurrent PutItem calls per Write; 16 when <= 0.
	MaxInFlight int
	// MaxAttempts bounds the attempts per record; 0 retries transient
	// errors until the context of Write ends.
	MaxAttempts int
	// Backoff paces retries of transient errors.
	Backoff sinks.Backoff
	// AttemptTimeout bounds one request; 10s when <= 0. A timed-out
	// attempt is retried.
	AttemptTimeout time.Duration
	// GuestID derives the by_guest key; EmailGuestID when nil.
	GuestID GuestIDFunc
	// Logger receives retry notices (keys only, never personal data);
	// slog.Default() when nil.
	Logger *slog.Logger
	// Now stamps updated_at; time.Now when nil.
	Now func() time.Time
	// RewriteEqual makes Write replace an item of the same version too,
	// not only an older one: a refresh, which re-extracts stored versions
	// so that a field added since reaches them (resingest migrate
	// --format xml --refresh). A newer stored version still wins.
	RewriteEqual bool
}

// Stats counts what the sink did since it was made.
type Stats struct {
	Attempts  int64 // PutItem calls
	Retries   int64 // attempts repeated after a transient error
	Stored    int64
	Stale     int64
	Duplicate int64
	Failed    int64
}

// Sink writes reservations to DynamoDB. It is safe for concurrent use;
// Close waits for the Writes in progress.
type Sink struct {
	api  API
	opts Options

	gate sinks.Gate // Write enters, Close closes

	attempts, retries                  atomic.Int64
	stored, stale, duplicate, failures atomic.Int64
}

// New returns a sink writing through api.
func New(api API, opts Options) *Sink {
	if opts.Table == "" {
		opts.Table = DefaultTable
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 16
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = 10 * time.Second
	}
	if opts.GuestID == nil {
		opts.GuestID = EmailGuestID
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Sink{api: api, opts: opts}
}

// Table returns the table the sink writes to.
func (s *Sink) Table() string { return s.opts.Table }

// Stats returns a snapshot of the counters.
func (s *Sink) Stats() Stats {
	return Stats{
		Attempts: s.attempts.Load(), Retries: s.retries.Load(),
		Stored: s.stored.Load(), Stale: s.stale.Load(), Duplicate: s.duplicate.Load(), Failed: s.failures.Load(),
	}
}

// Close stops accepting writes and waits for those in progress (cancel
// their context to make them give up sooner). It does not close the
// client, which the caller owns. Close is idempotent.
func (s *Sink) Close() error {
	s.gate.Close()
	return nil
}

func (s *Sink) count(res sinks.Result) {
	switch res.Outcome {
	case sinks.Stored:
		s.stored.Add(1)
	case sinks.Stale:
		s.stale.Add(1)
	case sinks.Duplicate:
		s.duplicate.Add(1)
	default:
		s.failures.Add(1)
	}
}
