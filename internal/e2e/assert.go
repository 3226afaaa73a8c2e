package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
)

// readTimeout bounds reading back one test's stores.
const readTimeout = 2 * time.Minute

// readers bounds concurrent reads of a store (dynalite answers one
// GetItem in a few milliseconds; thousands in a row would be slow).
const readers = 8

// maxReported bounds the mismatches an assertion reports one by one.
const maxReported = 10

// Canonical returns r as the stores give it back, so that records can be
// compared as JSON:
//   - times (message_time, created_at, modified_at) are truncated to
//     microseconds (Postgres' timestamptz precision) and rendered RFC 3339
//     UTC with a Z;
//   - amounts are compared as numbers: Postgres' numeric keeps the scale
//     but not a sign or leading zeros ("+05" reads back "5"), so they are
//     rendered as exact rationals ("1006.83" -> "100683/100");
//   - nil lists become empty lists (Normalize).
//
// Nothing else is changed: every other field must come back as it went in.
func Canonical(r reservation.Reservation) reservation.Reservation {
	r.Normalize()
	r.MessageTime, r.CreatedAt, r.ModifiedAt = canonTime(r.MessageTime), canonTime(r.CreatedAt), canonTime(r.ModifiedAt)
	r.TotalAfterTax, r.TotalBeforeTax = canonAmount(r.TotalAfterTax), canonAmount(r.TotalBeforeTax)
	stays := make([]reservation.RoomStay, len(r.RoomStays))
	for i, s := range r.RoomStays {
		s.TotalAfterTax, s.TotalBeforeTax = canonAmount(s.TotalAfterTax), canonAmount(s.TotalBeforeTax)
		stays[i] = s
	}
	r.RoomStays = stays
	return r
}

func canonTime(s string) string {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s // "" or not a time: compare as is
	}
	return tm.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
}

func canonAmount(s string) string {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return s
	}
	return r.RatString()
}

// storeReader is what AssertStores reads: postgres.Sink and dynamo.Sink.
type storeReader interface {
	Get(ctx context.Context, k reservation.Key) (reservation.Reservation, string, error)
}

// opened wraps store so that sealed guest fields come back plain when the
// test set a Keyring.
func (s *Stores) opened(store storeReader) storeReader {
	if s.Keyring == nil {
		return store
	}
	return openingReader{store, s.Keyring}
}

type openingReader struct {
	next storeReader
	kr   *pii.Keyring
}

func (o openingReader) Get(ctx context.Context, k reservation.Key) (reservation.Reservation, string, error) {
	r, v, err := o.next.Get(ctx, k)
	if err != nil {
		return r, v, err
	}
	r.Guests, err = o.kr.OpenGuests(ctx, r.Guests)
	return r, v, err
}

// AssertStores checks that Postgres and DynamoDB hold exactly want:
// AssertPostgres and AssertDynamo.
func AssertStores(t testing.TB, s *Stores, want map[reservation.Key]reservation.Reservation) {
	t.Helper()
	AssertPostgres(t, s, want)
	AssertDynamo(t, s, want)
}

// AssertPostgres checks that Postgres holds exactly want: one row per
// reservation (a count of the reservations table) and, for each key, the
// whole record (postgres.Sink.Get) equal to want's after Canonical.
func AssertPostgres(t testing.TB, s *Stores, want map[reservation.Key]reservation.Reservation) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if n := s.Count(t, "reservations"); n != len(want) {
		t.Errorf("postgres holds %d reservations, want %d", n, len(want))
	}
	compare(ctx, t, "postgres", s.opened(s.Postgres(t)), want)
}

// AssertDynamo checks that DynamoDB holds exactly want: one item per
// reservation (a table Scan count) and, for each key, the whole record
// (dynamo.Sink.Get) equal to want's after Canonical.
func AssertDynamo(t testing.TB, s *Stores, want map[reservation.Key]reservation.Reservation) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if n := s.dynamoCount(ctx, t); n != len(want) {
		t.Errorf("dynamodb holds %d items, want %d", n, len(want))
	}
	compare(ctx, t, "dynamodb", s.opened(s.Dynamo(t)), want)
}

// compare reads every key of want from store, a few at a time.
func compare(ctx context.Context, t testing.TB, name string, store storeReader, want map[reservation.Key]reservation.Reservation) {
	t.Helper()
	keys := make([]reservation.Key, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	problems := make([]string, len(keys))
	var wg sync.WaitGroup
	next := make(chan int)
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				problems[i] = diff(ctx, store, want[keys[i]])
			}
		}()
	}
	for i := range keys {
		next <- i
	}
	close(next)
	wg.Wait()
	bad := 0
	for i, p := range problems {
		if p == "" {
			continue
		}
		if bad++; bad <= maxReported {
			t.Errorf("%s: %s: %s", name, keys[i], p)
		}
	}
	if bad > maxReported {
		t.Errorf("%s: %d of %d reservations differ (first %d shown)", name, bad, len(keys), maxReported)
	}
}

// diff describes how the stored record differs from want ("" if not).
// It names fields only: values may be personal data.
func diff(ctx context.Context, store storeReader, want reservation.Reservation) string {
	got, _, err := store.Get(ctx, want.Key())
	if err != nil {
		return err.Error()
	}
	g, err1 := json.Marshal(Canonical(got))
	w, err2 := json.Marshal(Canonical(want))
	if err1 != nil || err2 != nil {
		return fmt.Sprintf("encode: %v %v", err1, err2)
	}
	if string(g) == string(w) {
		return ""
	}
	return "stored record differs in " + differingFields(g, w)
}

// differingFields lists the top-level JSON fields that differ.
func differingFields(a, b []byte) string {
	var ma, mb map[string]json.RawMessage
	_ = json.Unmarshal(a, &ma)
	_ = json.Unmarshal(b, &mb)
	var names []string
	for k, v := range mb {
		if string(ma[k]) != string(v) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return fmt.Sprint(names)
}

// Count returns the number of rows of a Postgres table of the test's
// database (reservations, audit, dead_letters, ...). Use it to wait for
// progress, e.g. until the audit trail has N rows.
func (s *Stores) Count(t testing.TB, table string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.PostgresURL)
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// WaitCount polls Count until the table has at least n rows or timeout
// passes, and returns the last count.
func (s *Stores) WaitCount(t testing.TB, table string, n int, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := s.Count(t, table)
		if got >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dynamoCount counts the items of the test's table with a paged Scan.
func (s *Stores) dynamoCount(ctx context.Context, t testing.TB) int {
	t.Helper()
	in := &dynamodb.ScanInput{TableName: aws.String(s.DynamoTable), Select: types.SelectCount, ConsistentRead: aws.Bool(true)}
	n := 0
	for {
		out, err := s.DynamoClient(t).Scan(ctx, in)
		if err != nil {
			t.Fatalf("scan dynamodb table: %v", err)
		}
		n += int(out.Count)
		if len(out.LastEvaluatedKey) == 0 {
			return n
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
