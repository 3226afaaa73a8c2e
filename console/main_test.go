package console_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/resingest/resingest/api"
	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/console"
	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/archive"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const testSecret = "console-test-secret-0123456789abcdef"

// fixture is a console over real stores that a worker's processor filled
// with a generated corpus (modifications, cancels, a hotel-less cancel),
// a poison message and a message of an unknown vendor dialect.
type fixture struct {
	pg       *postgres.Sink
	pgURL    string
	acme     corpus.Expect
	dyn      *dynamo.Sink
	arch     *archive.Sink
	srv      *console.Server
	ts       *httptest.Server
	tokens   *console.StaffTokens
	msgs     []corpus.Message
	byKey    map[reservation.Key][]int // message indexes per reservation, in order
	stripped reservation.Key           // the reservation whose cancel came without a hotel code
	acmeID   string                    // message id of the dialect message
	held     string                    // confirmation of a record held for key resolution
	fixed    string                    // the mapping file that parses the dialect
}

var (
	hotelElement = regexp.MustCompile(`<(?:BasicPropertyInfo|HotelReference)\b[^>]*>`)
	hotelAttr    = regexp.MustCompile(`\s(?:HotelCode|ChainCode|BrandCode|HotelName|HotelCityCode)="[^"]*"`)
)

// stripHotel removes every hotel identification from a message.
func stripHotel(msg []byte) []byte {
	return hotelElement.ReplaceAllFunc(msg, func(el []byte) []byte { return hotelAttr.ReplaceAll(el, nil) })
}

func newFixture(t testing.TB) *fixture {
	return newFixtureN(t, 80, 1)
}

// newFixtureN stores n generated messages, batch at a time (1: every
// version stored in turn), then the poison and dialect messages.
func newFixtureN(t testing.TB, n, batchSize int) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	f := &fixture{byKey: map[reservation.Key][]int{}}
	pgURL := testenv.PostgresSchema(t)
	f.pgURL = pgURL
	var err error
	if f.pg, err = postgres.New(ctx, pgURL, postgres.Options{MaxConns: 6}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.pg.Close)
	if _, err := f.pg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	dc, err := dynamo.NewClient(ctx, testenv.DynamoEndpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	table := testenv.UniqueName("console")
	if err := dynamo.EnsureTable(ctx, dc, table); err != nil {
		t.Fatal(err)
	}
	f.dyn = dynamo.New(dc, dynamo.Options{Table: table})
	ac, err := archive.NewClient(ctx, testenv.S3Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	f.arch = archive.New(ac, archive.Options{Bucket: testenv.UniqueName("console")})
	if err := f.arch.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	parser, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	proc := f.processor(t, parser)

	// The corpus: reservations with several versions, one cancel sent
	// without any hotel code, a poison message and a dialect message.
	g := corpus.New(corpus.Options{Seed: 41, Hotels: 3, ModifyRatio: 0.4, CancelRatio: 0.15})
	var batch []pipeline.Message
	add := func(xml []byte) {
		batch = append(batch, pipeline.Message{Value: xml, Source: "kafka", Partition: "reservations/0",
			Position: fmt.Sprint(len(batch))})
	}
	for range n {
		m := g.Next()
		k := reservation.Key{HotelCode: m.Hotel, Confirmation: m.Key}
		f.byKey[k] = append(f.byKey[k], len(f.msgs))
		xml := m.XML
		if f.stripped == (reservation.Key{}) && m.Expect.Action == reservation.ActionCancel && len(f.byKey[k]) > 1 {
			xml, f.stripped = stripHotel(xml), k
		}
		f.msgs = append(f.msgs, m)
		add(xml)
	}
	if f.stripped == (reservation.Key{}) {
		t.Fatal("the corpus has no cancel of an earlier booking; change the seed")
	}
	add([]byte(`<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05"><HotelReservations><HotelReservation`))
	// A booking that comes without its hotel code and nothing to resolve
	// it against: held.
	heldMsg := g.Next()
	for heldMsg.Expect.Action != reservation.ActionCreate {
		heldMsg = g.Next()
	}
	f.held = heldMsg.Key
	add(stripHotel(heldMsg.XML))
	acme := g.Next()
	for acme.Expect.MessageType != "OTA_HotelResNotifRQ" || acme.Expect.Action != reservation.ActionCreate {
		acme = g.Next()
	}
	f.acmeID, f.acme = acme.Expect.MessageID, acme.Expect
	add(bytes.ReplaceAll(acme.XML, []byte("OTA_HotelResNotifRQ"), []byte("ACME_HotelResNotifRQ")))
	// batchSize 1 is a worker on a quiet partition: every version is
	// stored in turn. The dialect message goes alone, last.
	var outcome pipeline.Outcome
	for i := 0; i < len(batch); {
		j := min(i+batchSize, len(batch)-1)
		if i == len(batch)-1 {
			j = len(batch)
		}
		now := time.Now().UTC()
		for k := i; k < j; k++ {
			batch[k].ReceivedAt = now
		}
		outcomes, err := proc.Process(ctx, batch[i:j])
		if err != nil {
			t.Fatalf("Process: %v", err)
		}
		outcome, i = outcomes[len(outcomes)-1], j
	}
	if outcome != pipeline.OutcomeDeadLettered {
		t.Fatalf("the dialect message: outcome %s, want dead-lettered", outcome)
	}

	// The fixed mapping: ota2003 that also knows the vendor's root.
	src, err := os.ReadFile("../parse/mappings/ota2003.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fixed := strings.Replace(string(src), "name: ota2003", "name: acme", 1)
	fixed = strings.Replace(fixed, "    - OTA_HotelResNotifRQ\n", "    - OTA_HotelResNotifRQ\n    - ACME_HotelResNotifRQ\n", 1)
	f.fixed = filepath.Join(t.TempDir(), "acme.yaml")
	if err := os.WriteFile(f.fixed, []byte(fixed), 0o600); err != nil {
		t.Fatal(err)
	}
	fixedParser, err := parse.New(parse.Options{Mapping: f.fixed})
	if err != nil {
		t.Fatal(err)
	}
	if f.tokens, err = console.NewStaffTokens([]byte(testSecret), nil); err != nil {
		t.Fatal(err)
	}
	f.srv, err = console.New(console.Options{
		Postgres: f.pg, Dynamo: f.dyn, Archive: f.arch, Parser: parser,
		Replayer:  replayer{pg: f.pg, proc: f.processor(t, fixedParser)},
		Verifiers: []console.Verifier{f.tokens},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.ts = httptest.NewServer(f.srv)
	t.Cleanup(f.ts.Close)
	return f
}

func (f *fixture) processor(t testing.TB, parser pipeline.Parser) *pipeline.Processor {
	t.Helper()
	proc, err := pipeline.NewProcessor(pipeline.Config{
		Parser: parser, Archive: &pipeline.NamedSink{Name: "archive", Sink: f.arch},
		Stores: []pipeline.NamedSink{{Name: "postgres", Sink: f.pg}, {Name: "dynamo", Sink: f.dyn}},
		Ledger: f.pg, Resolver: f.pg, DeadLetterArchive: f.arch,
	})
	if err != nil {
		t.Fatal(err)
	}
	return proc
}

type replayer struct {
	pg   *postgres.Sink
	proc *pipeline.Processor
}

func (r replayer) Replay(ctx context.Context, opts pipeline.ReplayOptions) (pipeline.ReplayReport, error) {
	return pipeline.Replay(ctx, r.pg, r.proc, opts)
}

func (f *fixture) token(t testing.TB, role string) string {
	t.Helper()
	tok, err := f.tokens.Issue("staff-"+role, role, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// get fetches path with a bearer token ("" for none) and returns the
// status and body.
func (f *fixture) get(t *testing.T, token, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, f.ts.Client(), req)
}

func (f *fixture) post(t *testing.T, token, path string, form url.Values, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return do(t, f.ts.Client(), req)
}

func do(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	c = &http.Client{Transport: c.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return resp.StatusCode, resp.Header.Get("Location")
	}
	return resp.StatusCode, string(b)
}

// csrfOf finds the CSRF token in a page's form.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

func (f *fixture) acmeHotel(t *testing.T) string { return f.acme.HotelCode }
func (f *fixture) acmeConf(t *testing.T) string  { return f.acme.Confirmation }

// guestLikeToken is a valid guest token of the itinerary API, signed with
// the same secret: the console must refuse it (no staff audience, no role).
func (f *fixture) guestLikeToken(t *testing.T) string {
	t.Helper()
	g, err := api.NewGuestTokens([]byte(testSecret), nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := g.Issue("ann@example.com", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mustParser(t testing.TB) *parse.Parser {
	t.Helper()
	p, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
