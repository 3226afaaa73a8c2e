package pii_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/archive"
)

const runTimeout = 2 * time.Minute

// TestNoPlainPIIAnywhere runs a generated corpus (with poison messages)
// through `resingest consume` with encryption on and all three sinks, then
// searches a pg_dump, a full DynamoDB scan, the archive objects and every
// log line for the corpus's e-mails, surnames, phone numbers, loyalty and
// card numbers, literally; the stores still read back exactly the
// expected records through the keyring. Then it rotates the key,
// re-encrypts, and purges old stays, checking both stores after each.
func TestNoPlainPIIAnywhere(t *testing.T) {
	env := e2e.Env(t)
	c := e2e.WriteCorpus(t, t.TempDir(), 240, 7, 4)
	want := c.Expected(t)
	kekFile := filepath.Join(t.TempDir(), "kek.json")
	bucket := strings.ToLower(testenv.UniqueName("pii"))
	s3End := testenv.S3Endpoint(t)
	var logs bytes.Buffer

	run := func(args ...string) string {
		t.Helper()
		out, errOut, err := e2e.Run(t, runTimeout, args...)
		logs.Write(out)
		logs.Write(errOut)
		if err != nil {
			t.Fatalf("resingest %s: %v\n%s", args[0], err, errOut)
		}
		return string(out)
	}
	keyArgs := []string{"--pg-url", env.PostgresURL, "--kek-file", kekFile}
	storeArgs := append([]string{"--dynamo-endpoint", env.DynamoEndpoint, "--dynamo-table", env.DynamoTable}, keyArgs...)

	run(append([]string{"keys", "init"}, keyArgs...)...)
	e2e.Produce(t, env.Brokers, env.Topic, c.Files, true)
	run(append(append([]string{"consume", "--log-level", "debug", "--exit-when-idle", "3s",
		"--sinks", "postgres,dynamo,archive", "--archive-bucket", bucket, "--s3-endpoint", s3End}, env.Args()...), "--kek-file", kekFile)...)

	kek, err := pii.LoadLocalKEK(kekFile)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := pii.Load(t.Context(), env.Postgres(t), kek)
	if err != nil {
		t.Fatal(err)
	}
	env.Keyring = kr
	e2e.AssertStores(t, env, want)
	if got := len(env.DeadLetters(t)); got != len(c.Poison) {
		t.Fatalf("%d dead letters; want %d", got, len(c.Poison))
	}

	secrets := corpusSecrets(t, c, want)
	if len(secrets) < 100 {
		t.Fatalf("only %d secrets collected from the corpus: the search would prove little", len(secrets))
	}
	places := map[string][]byte{
		"pg_dump":         pgDump(t, env.PostgresURL),
		"dynamodb scan":   dynamoScan(t, env),
		"archive":         archiveObjects(t, s3End, bucket),
		"logs and output": logs.Bytes(),
	}
	for place, data := range places {
		if len(data) < 1000 && place != "logs and output" {
			t.Fatalf("%s holds only %d bytes: nothing was searched", place, len(data))
		}
		for _, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s contains a plain-text value of the corpus (%d bytes long)", place, len(s))
			}
		}
	}
	// The archive opens with the keyring and holds every message.
	assertArchiveOpens(t, s3End, bucket, kr)

	// The API, reading the sealed DynamoDB table, returns a guest's own
	// stays to that guest in plain text (found by the e-mail's blind index).
	assertGuestSeesOwnStays(t, env, kekFile, want, &logs)

	// Rotation and re-encryption: every value ends under v2, reads work.
	if out := run(append([]string{"keys", "rotate"}, keyArgs...)...); !strings.Contains(out, "v2") {
		t.Fatalf("keys rotate said %q", out)
	}
	run(append([]string{"keys", "reencrypt", "--batch-size", "25"}, storeArgs...)...)
	if err := kr.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertAllUnder(t, env, "v2")
	e2e.AssertStores(t, env, want)

	// Purge: stays departed before the median departure lose their PII in
	// both stores; the others keep it.
	cut := medianDeparture(want)
	run(append([]string{"purge", "--departed-before", cut}, storeArgs...)...)
	purged := map[reservation.Key]reservation.Reservation{}
	for k, r := range want {
		if r.Departure != "" && r.Departure < cut {
			r.Guests, r.SpecialRequests = pii.Anonymise(r.Guests), purgedRequests(r.SpecialRequests)
			purged[k] = r
		}
		want[k] = r
	}
	if len(purged) == 0 || len(purged) == len(want) {
		t.Fatalf("purge cut %s selects %d of %d reservations: not a meaningful split", cut, len(purged), len(want))
	}
	e2e.AssertStores(t, env, want)
	// Run again: nothing more to do, nothing changes.
	if out := run(append([]string{"purge", "--departed-before", cut}, storeArgs...)...); !strings.Contains(out, "purge postgres: 0 reservations") {
		t.Fatalf("second purge did work again: %s", out)
	}
	e2e.AssertStores(t, env, want)
}

// corpusSecrets lists the personal values of the corpus worth searching
// for literally: long enough not to occur by chance in base64 ciphertext.
func corpusSecrets(t *testing.T, c *e2e.Corpus, want map[reservation.Key]reservation.Reservation) []string {
	seen := map[string]bool{}
	add := func(s string, min int) {
		if utf8.RuneCountInString(s) >= min {
			seen[s] = true
		}
	}
	for _, r := range want {
		for _, g := range r.Guests {
			add(g.Email, 6)
			add(g.Surname, 6)
			add(g.Phone, 8)
			add(g.LoyaltyNumber, 6)
		}
	}
	// Full card numbers only: the corpus's phones, loyalty numbers and
	// message ids are Luhn-valid digit runs too, and message ids are
	// rightly stored plain.
	for _, card := range c.Cards {
		seen[card] = true
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func pgDump(t *testing.T, url string) []byte {
	t.Helper()
	bin := "/usr/lib/postgresql/15/bin/pg_dump"
	if _, err := os.Stat(bin); err != nil {
		bin = "pg_dump"
	}
	out, err := exec.CommandContext(t.Context(), bin, "--data-only", url).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	return out
}

func dynamoScan(t *testing.T, env *e2e.Stores) []byte {
	t.Helper()
	var buf bytes.Buffer
	p := dynamodb.NewScanPaginator(env.DynamoClient(t), &dynamodb.ScanInput{TableName: aws.String(env.DynamoTable)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			b, err := json.Marshal(item)
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(b)
		}
	}
	return buf.Bytes()
}

func s3Client(t *testing.T, endpoint string) *s3.Client {
	t.Helper()
	c, err := archive.NewClient(t.Context(), endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func archiveKeys(t *testing.T, c *s3.Client, bucket string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// archiveObjects returns the raw bytes of every archive object, as GET
// returns them.
func archiveObjects(t *testing.T, endpoint, bucket string) []byte {
	t.Helper()
	c := s3Client(t, endpoint)
	var buf bytes.Buffer
	for _, k := range archiveKeys(t, c, bucket) {
		out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !pii.IsSealedBlob(b) {
			t.Errorf("archive object %s is not sealed", k)
		}
		buf.Write(b)
	}
	return buf.Bytes()
}

func assertArchiveOpens(t *testing.T, endpoint, bucket string, kr *pii.Keyring) {
	t.Helper()
	c := s3Client(t, endpoint)
	a := archive.New(c, archive.Options{Bucket: bucket, Sealer: kr})
	entries := 0
	for _, k := range archiveKeys(t, c, bucket) {
		es, err := a.Read(t.Context(), k)
		if err != nil {
			t.Fatalf("read sealed archive object: %v", err)
		}
		entries += len(es)
	}
	if entries == 0 {
		t.Fatal("the archive opened to no entries")
	}
	plain := archive.New(c, archive.Options{Bucket: bucket})
	if _, err := plain.Read(t.Context(), archiveKeys(t, c, bucket)[0]); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Fatalf("reading a sealed object without keys = %v; want a clear error", err)
	}
}

// assertAllUnder checks every sealed guest value in both stores names
// version.
func assertAllUnder(t *testing.T, env *e2e.Stores, version string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stale, total int
	err := env.Postgres(t).Pool().QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE surname <> '' AND surname NOT LIKE 'pii1:'||$1||':%'), count(*)
		FROM reservation_guests`, version).Scan(&stale, &total)
	if err != nil {
		t.Fatal(err)
	}
	if stale != 0 || total == 0 {
		t.Fatalf("postgres: %d of %d guest rows not under %s", stale, total, version)
	}
	scan := dynamoScan(t, env)
	if n := bytes.Count(scan, []byte(`"pii1:`+version+`:`)); n == 0 {
		t.Fatal("dynamodb holds no value under the new version")
	}
	for _, old := range []string{"pii1:v1:"} {
		if old != "pii1:"+version+":" && bytes.Contains(scan, []byte(old)) {
			t.Fatalf("dynamodb still holds values under %s", old)
		}
	}
}

func medianDeparture(want map[reservation.Key]reservation.Reservation) string {
	var ds []string
	for _, r := range want {
		if r.Departure != "" {
			ds = append(ds, r.Departure)
		}
	}
	sort.Strings(ds)
	return ds[len(ds)/2]
}

// assertGuestSeesOwnStays starts `resingest serve` on the sealed stores,
// signs in as the primary guest of one stay, and checks the itinerary list
// holds that stay with the guest's plain e-mail and surname. The server's
// log is added to logs (searched for PII by the caller).
func assertGuestSeesOwnStays(t *testing.T, env *e2e.Stores, kekFile string, want map[reservation.Key]reservation.Reservation, logs *bytes.Buffer) {
	t.Helper()
	var target reservation.Reservation
	for _, r := range want {
		if g := r.PrimaryGuest(); g.Email != "" && len(g.Surname) >= 4 && (target.Confirmation == "" || r.Key().String() < target.Key().String()) {
			target = r
		}
	}
	if target.Confirmation == "" {
		t.Fatal("no stay with a primary guest e-mail in the corpus")
	}
	email, surname := target.PrimaryGuest().Email, target.PrimaryGuest().Surname
	secret := "pii-e2e-secret-0123456789abcdef0123456789"
	port := freePort(t)
	srv := e2e.Start(t, []string{"RESINGEST_JWT_SECRET=" + secret},
		"serve", "--addr", port, "--admin-addr", "", "--store", "dynamo", "--pg-url", env.PostgresURL,
		"--dynamo-endpoint", env.DynamoEndpoint, "--dynamo-table", env.DynamoTable, "--kek-file", kekFile)
	defer func() {
		_ = srv.Signal(syscall.SIGTERM)
		_ = srv.Wait(30 * time.Second)
		logs.WriteString(srv.Output())
	}()
	tok, _, err := e2e.Run(t, runTimeout, "token", "guest", "--email", email, "--jwt-secret", secret)
	if err != nil {
		t.Fatalf("token guest: %v", err)
	}
	var body []byte
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://"+port+"/v1/guests/me/itineraries", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			t.Fatalf("GET itineraries: %d %s", resp.StatusCode, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer: %v\n%s", err, srv.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, s := range []string{target.Confirmation, email, surname} {
		if !bytes.Contains(body, []byte(s)) {
			t.Errorf("the guest's itineraries do not hold the plain value (%d bytes) of their stay %s", len(s), target.Key())
		}
	}
	if bytes.Contains(body, []byte(pii.SealedPrefix)) {
		t.Error("the API returned a sealed value")
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
