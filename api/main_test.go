package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var testSecret = []byte("test-secret-0123456789abcdef-0123456789")

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// guest is a test guest of the fixture.
type guest struct{ given, surname, email string }

var (
	ann = guest{"Ann", "Zed", "Ann@Example.com"}
	bo  = guest{"Bo", "Aaron", "BO@example.COM"}
	cy  = guest{"Cy", "Doe", "cy@example.com"}
	eve = guest{"Eve", "Zed", "eve@example.com"}
	dee = guest{"Dee", "Roe", "dee@example.com"}
)

// fixture is what every store test reads: H1 has three arrivals on
// 2024-06-01 and one on 06-02; H2/C100 shares a confirmation number and a
// surname with H1/C100.
func fixture(t testing.TB) []sinks.Record {
	t.Helper()
	mk := func(hotel, conf, arrival string, guests ...guest) sinks.Record {
		r := reservation.Reservation{
			MessageType: "OTA_HotelResNotifRQ", MessageTime: "2024-05-01T12:00:00Z",
			Action: reservation.ActionCreate, Status: "Book",
			Confirmation: conf, HotelCode: hotel, ChainCode: "RC",
			CreatedAt: "2024-04-01T09:00:00Z", ModifiedAt: "2024-05-01T10:00:00Z",
			Arrival: arrival, Departure: "2024-06-05", Adults: 2,
			RoomStays: []reservation.RoomStay{{RoomType: "KING", RatePlan: "BAR", Units: 2, Arrival: arrival,
				Departure: "2024-06-05", Adults: 2, TotalAfterTax: "450.50", TotalBeforeTax: "400.00", Currency: "USD"}},
			TotalAfterTax: "450.50", TotalBeforeTax: "400.00", Currency: "USD",
			ExternalIDs:     []reservation.ExternalID{{Type: "14", Value: conf, Source: "PMS"}},
			Payment:         reservation.Payment{CardCode: "VI", Last4: "1111", Expire: "1227"},
			SpecialRequests: []reservation.SpecialRequest{{Code: "1.14", Text: "1 king"}},
		}
		for i, g := range guests {
			r.Guests = append(r.Guests, reservation.Guest{Primary: i == 0, GivenName: g.given, Surname: g.surname, Email: g.email})
		}
		r.Normalize()
		v, err := reservation.VersionOf(&r, "1")
		if err != nil {
			t.Fatal(err)
		}
		return sinks.Record{Reservation: r, Version: v}
	}
	cancelled := mk("H1", "C103", "2024-06-02", ann)
	cancelled.Reservation.Action, cancelled.Reservation.Status = reservation.ActionCancel, "Cancel"
	return []sinks.Record{
		mk("H1", "C100", "2024-06-01", ann, bo),
		mk("H1", "C101", "2024-06-01", cy),
		mk("H1", "C102", "2024-06-01", ann),
		cancelled,
		mk("H2", "C100", "2024-06-01", eve),
		mk("H2", "C200", "2024-06-01", dee),
	}
}

type writer interface {
	Write(ctx context.Context, recs []sinks.Record) ([]sinks.Result, error)
}

func load(t testing.TB, w writer, recs []sinks.Record) {
	t.Helper()
	res, err := w.Write(testContext(t), recs)
	if err != nil {
		t.Fatalf("write fixture: %v", err)
	}
	for i, r := range res {
		if r.Outcome != sinks.Stored {
			t.Fatalf("write fixture %d: %v %v", i, r.Outcome, r.Err)
		}
	}
}

// storeKinds are the stores every endpoint test runs against: each with
// guests stored plain, and with guests sealed (package pii) and read
// through an OpenedStore.
var storeKinds = []string{"dynamo", "postgres", "dynamo+pii", "postgres+pii"}

// sealedFixture seals the guests of recs with a keyring initialised in a
// fresh Postgres database, as the pipeline writes them with --kek-file.
func sealedFixture(t testing.TB, recs []sinks.Record) (*pii.Keyring, []sinks.Record) {
	t.Helper()
	ctx := testContext(t)
	keys, err := postgres.New(ctx, testenv.PostgresSchema(t), postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(keys.Close)
	if _, err := keys.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	kr, _ := testenv.Keyring(t, keys)
	out := make([]sinks.Record, len(recs))
	for i, r := range recs {
		if r.Reservation.Guests, r.GuestIndexes, err = kr.SealGuests(r.Reservation.Guests); err != nil {
			t.Fatal(err)
		}
		out[i] = r
	}
	return kr, out
}

// newStore returns a store of kind over a fresh table or database holding
// recs.
func newStore(t testing.TB, kind string, recs []sinks.Record) Store {
	t.Helper()
	base, sealed := strings.CutSuffix(kind, "+pii")
	if !sealed {
		return newPlainStore(t, base, recs)
	}
	kr, recs := sealedFixture(t, recs)
	return NewOpenedStore(newPlainStore(t, base, recs), kr)
}

// newPlainStore returns a store of kind (dynamo or postgres) over a fresh
// table or database holding recs as they are.
func newPlainStore(t testing.TB, kind string, recs []sinks.Record) Store {
	t.Helper()
	ctx := testContext(t)
	switch kind {
	case "dynamo":
		c, err := dynamo.NewClient(ctx, testenv.DynamoEndpoint(t))
		if err != nil {
			t.Fatal(err)
		}
		table := testenv.UniqueName("api")
		if err := dynamo.EnsureTable(ctx, c, table); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
				t.Errorf("delete table %s: %v", table, err)
			}
		})
		sink := dynamo.New(c, dynamo.Options{Table: table})
		t.Cleanup(func() { _ = sink.Close() })
		load(t, sink, recs)
		return NewDynamoStore(sink)
	case "postgres":
		sink, err := postgres.New(ctx, testenv.PostgresSchema(t), postgres.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sink.Close)
		if _, err := sink.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		load(t, sink, recs)
		return NewPostgresStore(sink)
	}
	t.Fatalf("unknown store %q", kind)
	return nil
}

// partner keys of the tests.
var (
	partnerH1 = Partner{Name: "one", AccessKeyID: "AKIDH1", SecretAccessKey: "secret-h1", Hotels: []string{"H1"}}
	partnerH2 = Partner{Name: "two", AccessKeyID: "AKIDH2", SecretAccessKey: "secret-h2", Hotels: []string{"H2"}}
)

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTestServer serves store with the test secret and partners; the
// returned buffer holds its logs.
func newTestServer(t testing.TB, store Store, mod func(*Options)) (*httptest.Server, *logBuffer) {
	t.Helper()
	return newTestServerWith(t, store, mod, nil)
}

// newTestServerWith is newTestServer that also returns the Server in
// *out (when out is not nil).
func newTestServerWith(t testing.TB, store Store, mod func(*Options), out **Server) (*httptest.Server, *logBuffer) {
	t.Helper()
	guests, err := NewGuestTokens(testSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	partners, err := NewPartners([]Partner{partnerH1, partnerH2})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	opts := Options{Store: store, Guests: guests, Partners: partners,
		Logger: slog.New(slog.NewTextHandler(logs, nil))}
	if mod != nil {
		mod(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		*out = srv
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, logs
}

// caller adds credentials to a request.
type caller struct {
	name string
	auth func(t testing.TB, r *http.Request, body []byte)
}

func guestToken(t testing.TB, email string, now time.Time, ttl time.Duration, secret []byte) string {
	t.Helper()
	g, err := NewGuestTokens(secret, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	tok, err := g.Issue(email, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func bearer(tok string) func(testing.TB, *http.Request, []byte) {
	return func(_ testing.TB, r *http.Request, _ []byte) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func asGuest(t testing.TB, g guest) caller {
	return caller{"guest " + g.given, bearer(guestToken(t, g.email, time.Now(), time.Hour, testSecret))}
}

// signAt signs r for p with the AWS SDK's signer at time at.
func signAt(t testing.TB, r *http.Request, body []byte, p Partner, at time.Time) {
	t.Helper()
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), SigV4Service, DefaultRegion, at); err != nil {
		t.Fatal(err)
	}
}

func asPartner(p Partner) caller {
	return caller{"partner " + p.Name, func(t testing.TB, r *http.Request, body []byte) { signAt(t, r, body, p, time.Now()) }}
}

// callers: every kind the endpoint tables cover.
func callers(t testing.TB) map[string]caller {
	return map[string]caller{
		"ann":        asGuest(t, ann),
		"bo":         asGuest(t, bo),
		"cy":         asGuest(t, cy),
		"partner H1": asPartner(partnerH1),
		"partner H2": asPartner(partnerH2),
		"none":       {"none", func(testing.TB, *http.Request, []byte) {}},
		"bad token":  {"bad token", bearer(guestToken(t, ann.email, time.Now(), time.Hour, []byte("another-secret-0123456789abcdef-xyz")))},
		"expired":    {"expired", bearer(guestToken(t, ann.email, time.Now().Add(-2*time.Hour), time.Hour, testSecret))},
		"garbage":    {"garbage", bearer("not.a.jwt")},
	}
}

// response is what a test call returned.
type response struct {
	status int
	header http.Header
	body   []byte
}

// call sends method url with body, authenticated by c.
func call(t testing.TB, ts *httptest.Server, c caller, method, path string, body []byte) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.auth(t, req, body)
	return do(t, req)
}

func do(t testing.TB, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: b}
	checkAgainstOpenAPI(t, req, r)
	return r
}

// checkProblem asserts that r is a problem+json response of its status.
func checkProblem(t testing.TB, r response) Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json (body %s)", ct, r.body)
	}
	var p Problem
	if err := jsonStrict(r.body, &p); err != nil {
		t.Fatalf("problem body %s: %v", r.body, err)
	}
	if p.Status != r.status || p.Type == "" || p.Title == "" || p.Detail == "" {
		t.Errorf("problem %+v does not describe status %d", p, r.status)
	}
	return p
}

// jsonStrict decodes b into v, refusing unknown fields.
func jsonStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Reset empties the buffer.
func (b *logBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}
