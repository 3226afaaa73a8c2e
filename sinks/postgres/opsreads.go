package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/resingest/resingest/reservation"
)

// The operations console's reads (issue 17): ingest health over time from
// the audit trail, dead letters by reason class, per-hotel feed quality
// from the lineage (audit_records) and the dead letters, and samples of
// stored keys. Each runs within the store's attempt deadline. Time windows
// are [since, until); a zero since or until leaves that side open. The
// month bounds in every statement let the planner skip the partitions
// outside the window.

// UnclassifiedReason is the reason class under which DeadLettersByReason
// and HotelQuality count letters stored without one (before migration
// 0014). ListDeadLetters selects those letters for this class too.
const UnclassifiedReason = "unclassified"

// ErrUnknownSort is wrapped by HotelQuality for a sort it does not know.
var ErrUnknownSort = errors.New("postgres: unknown sort")

// windowFrom and windowTo are the bounds of a time window [from, to): a
// zero time is -infinity or infinity.
func windowFrom(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

func windowTo(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

// OutcomeCount is the number of messages audited in one time bucket with
// one outcome.
type OutcomeCount struct {
	Bucket   time.Time // the bucket's start, UTC
	Outcome  string    // the audit row's outcome: stored, duplicate, stale, held, resolved, dead_lettered, ...
	Messages int64
}

const outcomesOverTimeSQL = `
SELECT date_bin($3::interval, received_at, timestamptz '1970-01-01 00:00:00+00'), outcome, count(*)
FROM audit
WHERE received_at >= $1 AND received_at < $2
	AND received_month >= resingest_month($1) AND received_month <= resingest_month($2)
GROUP BY 1, 2
ORDER BY 1, 2`

// OutcomesOverTime counts audit rows (one per message) by outcome in
// buckets of width bucket, aligned on the Unix epoch (date_bin), over the
// rows received in [since, until). Buckets without messages are left out.
// Ordered by bucket, then outcome. bucket must be at least a microsecond.
// Safe for concurrent use.
func (s *Sink) OutcomesOverTime(ctx context.Context, since, until time.Time, bucket time.Duration) ([]OutcomeCount, error) {
	if bucket < time.Microsecond {
		return nil, fmt.Errorf("postgres: outcomes over time: bucket %v: must be at least 1µs", bucket)
	}
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, outcomesOverTimeSQL, windowFrom(since), windowTo(until), bucket)
	if err != nil {
		return nil, fmt.Errorf("postgres: outcomes over time: %w", classify(err))
	}
	var out []OutcomeCount
	var c OutcomeCount
	_, err = pgx.ForEachRow(rows, []any{&c.Bucket, &c.Outcome, &c.Messages}, func() error {
		c.Bucket = c.Bucket.UTC()
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: outcomes over time: %w", classify(err))
	}
	return out, nil
}

// ReasonCount is the dead letters of one reason class.
type ReasonCount struct {
	ReasonClass string // UnclassifiedReason for letters stored without a class
	Letters     int64
	Pending     int64     // not replayed yet
	Newest      time.Time // the latest received_at among them, UTC
}

const deadLettersByReasonSQL = `
SELECT CASE WHEN reason_class = '' THEN '` + UnclassifiedReason + `' ELSE reason_class END,
	count(*), count(*) FILTER (WHERE replayed_at IS NULL), max(received_at)
FROM dead_letters
WHERE received_at >= $1 AND received_at < $2
	AND received_month >= resingest_month($1) AND received_month <= resingest_month($2)
GROUP BY 1
ORDER BY 2 DESC, 1`

// DeadLettersByReason counts the dead letters received in [since, until)
// by reason class (letters without one under UnclassifiedReason), most
// letters first, then by class. Safe for concurrent use.
func (s *Sink) DeadLettersByReason(ctx context.Context, since, until time.Time) ([]ReasonCount, error) {
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, deadLettersByReasonSQL, windowFrom(since), windowTo(until))
	if err != nil {
		return nil, fmt.Errorf("postgres: dead letters by reason: %w", classify(err))
	}
	var out []ReasonCount
	var c ReasonCount
	_, err = pgx.ForEachRow(rows, []any{&c.ReasonClass, &c.Letters, &c.Pending, &c.Newest}, func() error {
		c.Newest = c.Newest.UTC()
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: dead letters by reason: %w", classify(err))
	}
	return out, nil
}

// HotelQuality is the feed quality of one hotel over a time window.
type HotelQuality struct {
	HotelCode string
	// Mappings are the parser mappings that extracted the hotel's records
	// in the window (the feeds' formats or vendors: "ota2003", "ota2001",
	// a vendor's mapping file), sorted; empty when none is known.
	Mappings []string
	// Messages counts the hotel's records in the window (audit_records
	// rows with its hotel code: a message of several reservations counts
	// each). Stored, Stale, Duplicate and Resolved count them by outcome.
	Messages                           int64
	Stored, Stale, Duplicate, Resolved int64
	// DeadLetters counts the dead letters naming the hotel in the window;
	// DeadLettersByReason counts them by reason class (UnclassifiedReason
	// for those without one). Never nil.
	DeadLetters         int64
	DeadLettersByReason map[string]int64
	// MissingFields counts the records that arrived without a hotel code
	// (a missing key field): those key resolution gave this hotel
	// (outcome resolved, at once or on release from hold), plus those
	// still without one (held, or dead-lettered unresolved) in messages
	// whose other records name this hotel. A held record released as
	// stale keeps no mark of its hold and is not counted.
	MissingFields int64
	// LastMessage is the latest received_at of the hotel's records or
	// dead letters in the window, UTC.
	LastMessage time.Time
}

// DeadLetterRate is DeadLetters / (Messages + DeadLetters), 0 when both
// are 0: the order of HotelQuality's "dead_letter_rate" sort.
func (h HotelQuality) DeadLetterRate() float64 {
	if h.Messages+h.DeadLetters == 0 {
		return 0
	}
	return float64(h.DeadLetters) / float64(h.Messages+h.DeadLetters)
}

// hotelQualitySorts are HotelQuality's sorts and their ORDER BY clauses
// (over the columns of hotelQualitySQL); ties go by hotel.
var hotelQualitySorts = []struct{ name, order string }{
	{"hotel", "hotel"},
	{"messages", "messages DESC, hotel"},
	{"dead_letter_rate", "letters::float8 / greatest(messages + letters, 1) DESC, hotel"},
	{"missing", "missing DESC, hotel"},
	{"last", "last DESC, hotel"},
}

// HotelQualitySorts returns the sorts HotelQuality accepts.
func HotelQualitySorts() []string {
	out := make([]string, len(hotelQualitySorts))
	for i, s := range hotelQualitySorts {
		out[i] = s.name
	}
	return out
}

// hotelQualitySQL is ordered by %s. Records without a hotel code (held,
// or dead-lettered unresolved: an empty hotel_code) count only towards the
// MissingFields of the hotels their message's other records name.
const hotelQualitySQL = `
WITH recs AS (
	SELECT hotel_code, count(*) AS messages,
		count(*) FILTER (WHERE outcome = 'stored') AS stored,
		count(*) FILTER (WHERE outcome = 'stale') AS stale,
		count(*) FILTER (WHERE outcome = 'duplicate') AS duplicate,
		count(*) FILTER (WHERE outcome = 'resolved') AS resolved,
		max(received_at) AS last,
		array_agg(DISTINCT mapping ORDER BY mapping) FILTER (WHERE mapping <> '') AS mappings
	FROM audit_records
	WHERE hotel_code <> '' AND received_at >= $1 AND received_at < $2
		AND received_month >= resingest_month($1) AND received_month <= resingest_month($2)
	GROUP BY hotel_code
), unkeyed AS (
	SELECT received_month, source, partition, position, count(*) AS records
	FROM audit_records
	WHERE hotel_code = '' AND received_at >= $1 AND received_at < $2
		AND received_month >= resingest_month($1) AND received_month <= resingest_month($2)
	GROUP BY 1, 2, 3, 4
), unkeyed_by_hotel AS (
	SELECT hotel_code, sum(records)::bigint AS records
	FROM (SELECT DISTINCT u.received_month, u.source, u.partition, u.position, u.records, a.hotel_code
		FROM unkeyed u
		JOIN audit_records a USING (received_month, source, partition, position)
		WHERE a.hotel_code <> '' AND a.received_at >= $1 AND a.received_at < $2
			AND a.received_month >= resingest_month($1) AND a.received_month <= resingest_month($2)) named
	GROUP BY hotel_code
), by_class AS (
	SELECT hotel_code, CASE WHEN reason_class = '' THEN '` + UnclassifiedReason + `' ELSE reason_class END AS class,
		count(*) AS letters, max(received_at) AS last
	FROM dead_letters
	WHERE hotel_code <> '' AND received_at >= $1 AND received_at < $2
		AND received_month >= resingest_month($1) AND received_month <= resingest_month($2)
	GROUP BY 1, 2
), letters AS (
	SELECT hotel_code, sum(letters)::bigint AS letters, jsonb_object_agg(class, letters) AS by_class,
		max(last) AS last
	FROM by_class
	GROUP BY hotel_code
), q AS (
	SELECT coalesce(r.hotel_code, l.hotel_code) AS hotel,
		coalesce(r.messages, 0) AS messages, coalesce(r.stored, 0) AS stored,
		coalesce(r.stale, 0) AS stale, coalesce(r.duplicate, 0) AS duplicate,
		coalesce(r.resolved, 0) AS resolved, coalesce(l.letters, 0) AS letters,
		coalesce(l.by_class, '{}') AS by_class,
		coalesce(r.resolved, 0) + coalesce(u.records, 0) AS missing,
		greatest(r.last, l.last) AS last,
		coalesce(r.mappings, '{}') AS mappings
	FROM recs r
	FULL JOIN letters l ON l.hotel_code = r.hotel_code
	LEFT JOIN unkeyed_by_hotel u ON u.hotel_code = r.hotel_code
)
SELECT hotel, messages, stored, stale, duplicate, resolved, letters, by_class, missing, last, mappings
FROM q
ORDER BY %s
LIMIT $3`

// HotelQuality returns the feed quality of every hotel with a record or a
// dead letter received in [since, until), at most limit of them (limit <=
// 0: 100), sorted by sort: "hotel" (ascending, bytewise), "messages",
// "dead_letter_rate" (HotelQuality.DeadLetterRate), "missing"
// (MissingFields) or "last" (LastMessage), each descending with ties by
// hotel. Another sort fails with an error wrapping ErrUnknownSort that
// names the allowed ones. Safe for concurrent use.
func (s *Sink) HotelQuality(ctx context.Context, since, until time.Time, sort string, limit int) ([]HotelQuality, error) {
	order := ""
	for _, o := range hotelQualitySorts {
		if o.name == sort {
			order = o.order
		}
	}
	if order == "" {
		return nil, fmt.Errorf("%w %q for hotel quality: use one of %s", ErrUnknownSort, sort,
			strings.Join(HotelQualitySorts(), ", "))
	}
	if limit <= 0 {
		limit = 100
	}
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, fmt.Sprintf(hotelQualitySQL, order), windowFrom(since), windowTo(until), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: hotel quality: %w", classify(err))
	}
	var out []HotelQuality
	var h HotelQuality
	_, err = pgx.ForEachRow(rows, []any{&h.HotelCode, &h.Messages, &h.Stored, &h.Stale, &h.Duplicate,
		&h.Resolved, &h.DeadLetters, &h.DeadLettersByReason, &h.MissingFields, &h.LastMessage, &h.Mappings}, func() error {
		h.LastMessage = h.LastMessage.UTC()
		if h.DeadLettersByReason == nil {
			h.DeadLettersByReason = map[string]int64{}
		}
		out = append(out, h)
		h.DeadLettersByReason, h.Mappings = nil, nil // fresh ones for the next row
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: hotel quality: %w", classify(err))
	}
	return out, nil
}

// sampleSmallTable is the estimated size (rows) under which SampleKeys
// shuffles the whole reservations table instead of sampling its pages.
const sampleSmallTable = 10_000

const (
	reservationsEstimateSQL = `SELECT coalesce((SELECT reltuples FROM pg_class WHERE oid = to_regclass('reservations')), -1)`

	// sampleSmallSQL shuffles the first $2 rows: the whole table when the
	// estimate is right, a bounded read when it is stale.
	sampleSmallSQL = `
SELECT hotel_code, confirmation FROM (SELECT hotel_code, confirmation FROM reservations LIMIT $2) s
ORDER BY random() LIMIT $1`

	// samplePagesSQL reads the rows of $2 percent of the table's pages,
	// chosen at random, at most $3 of them, and shuffles those.
	samplePagesSQL = `
SELECT hotel_code, confirmation
FROM (SELECT hotel_code, confirmation FROM reservations TABLESAMPLE SYSTEM ($2::real) LIMIT $3) s
ORDER BY random() LIMIT $1`
)

// SampleKeys returns up to n keys of stored reservations chosen at random,
// cheaply: a table estimated (pg_class.reltuples) at fewer than 10,000
// rows is shuffled whole (ORDER BY random() over at most its first 10,000
// rows); a larger one is sampled with TABLESAMPLE SYSTEM, which reads
// only the pages it picks (BERNOULLI, or ORDER BY random() over the
// table, would read all of it), sized to yield about 4n rows, of which n
// are kept at random. Keys of one page are correlated (rows written
// together), and an unlucky page draw may return fewer than n keys;
// neither matters to an agreement check between stores. Safe for
// concurrent use.
func (s *Sink) SampleKeys(ctx context.Context, n int) ([]reservation.Key, error) {
	return s.sampleKeys(ctx, n, sampleSmallTable)
}

// sampleKeys is SampleKeys with the small-table bound as a parameter (the
// tests sample pages of a small table).
func (s *Sink) sampleKeys(ctx context.Context, n int, small float64) ([]reservation.Key, error) {
	if n <= 0 {
		return nil, nil
	}
	ctx, cancel := s.attempt(ctx)
	defer cancel()
	var estimate float64
	if err := s.pool.QueryRow(ctx, reservationsEstimateSQL).Scan(&estimate); err != nil {
		return nil, fmt.Errorf("postgres: sample keys: %w", classify(err))
	}
	if estimate < small { // -1: never analysed
		return s.queryKeys(ctx, "sample keys", "", sampleSmallSQL, n, sampleSmallTable)
	}
	percent := min(100, 100*4*float64(n)/max(estimate, 1))
	return s.queryKeys(ctx, "sample keys", "", samplePagesSQL, n, float32(percent), 10*int64(n)+1000)
}
