package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/postgres"
)

func TestMasks(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ fn, in, want string }{
		{"email", "", ""},
		{"email", "jane@example.com", "j***@example.com"},
		{"email", "Élodie@Example.fr", "É***@Example.fr"},
		{"email", "no-at-sign", "***"},
		{"email", "@example.com", "***"},
		{"phone", "", ""},
		{"phone", "+1 (555) 010-1234", "***1234"},
		{"phone", "1234", "***"},
		{"phone", "12345", "***2345"},
		{"phone", "ext.", "***"},
	} {
		t.Run(tt.fn+" "+tt.in, func(t *testing.T) {
			mask := map[string]func(string) string{"email": MaskEmail, "phone": MaskPhone}[tt.fn]
			if got := mask(tt.in); got != tt.want {
				t.Errorf("mask %s %q = %q, want %q", tt.fn, tt.in, got, tt.want)
			}
		})
	}
}

// piiRecord is H1/P1 with two guests who have every contact field.
func piiRecord(t testing.TB) sinks.Record {
	t.Helper()
	r := reservation.Reservation{
		MessageType: "OTA_HotelResNotifRQ", Action: reservation.ActionCreate, Status: "Book",
		Confirmation: "P1", HotelCode: "H1", CreatedAt: "2024-04-01T09:00:00Z",
		Arrival: "2024-07-01", Departure: "2024-07-03",
		Guests: []reservation.Guest{
			{Primary: true, GivenName: "Ann", Surname: "Zed", Email: "Ann@Example.com", Phone: "+1 555 010 1234",
				LoyaltyProgram: "GOLD", LoyaltyNumber: "G-998877"},
			{GivenName: "Bo", Surname: "Aaron", Email: "bo@example.com", Phone: "+44 20 7946 0958",
				LoyaltyProgram: "GOLD", LoyaltyNumber: "G-112233"},
		},
		SpecialRequests: []reservation.SpecialRequest{{Code: "ACC", Name: "access", Text: "wheelchair, step-free room"}},
	}
	r.Normalize()
	v, err := reservation.VersionOf(&r, "1")
	if err != nil {
		t.Fatal(err)
	}
	return sinks.Record{Reservation: r, Version: v}
}

// auditDB is a fresh migrated database for the access audit.
func auditDB(t testing.TB) *postgres.Sink {
	t.Helper()
	sink, err := postgres.New(testContext(t), testenv.PostgresSchema(t), postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sink.Close)
	if _, err := sink.Migrate(testContext(t)); err != nil {
		t.Fatal(err)
	}
	return sink
}

// auditRows returns the audit rows of a request id.
func auditRows(t testing.TB, pool *pgxpool.Pool, requestID string) []PIIAccess {
	t.Helper()
	rows, err := pool.Query(testContext(t), `SELECT caller_kind, caller_id, hotel_code, confirmation, fields, accessed_at
		FROM pii_access WHERE request_id = $1 ORDER BY id`, requestID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []PIIAccess
	for rows.Next() {
		a := PIIAccess{RequestID: requestID}
		if err := rows.Scan(&a.CallerKind, &a.CallerID, &a.HotelCode, &a.Confirmation, &a.Fields, &a.At); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var partnerPII = Partner{Name: "pii", AccessKeyID: "AKIDPII", SecretAccessKey: "secret-pii", Hotels: []string{"H1"}, Scopes: []string{ScopePII}}

// TestPIIScopes checks, on both stores, who sees contact data unmasked
// and that exactly those responses are in the access audit.
func TestPIIScopes(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			store := newStore(t, kind, []sinks.Record{piiRecord(t)})
			db := auditDB(t)
			pool := db.Pool()
			audit := NewAccessAudit(NewPostgresAccessLog(db), AuditOptions{FlushEvery: 10 * time.Millisecond, Logger: discardLogger()})
			partners, err := NewPartners([]Partner{partnerH1, partnerPII})
			if err != nil {
				t.Fatal(err)
			}
			var srv *Server
			ts, _ := newTestServerWith(t, store, func(o *Options) { o.Audit, o.Partners = audit, partners }, &srv)
			noAudit, _ := newTestServer(t, store, func(o *Options) { o.Partners = partners })

			annFull := Guest{Primary: true, GivenName: "Ann", Surname: "Zed", Email: "Ann@Example.com", Phone: "+1 555 010 1234",
				LoyaltyProgram: "GOLD", LoyaltyNumber: "G-998877"}
			annMasked := Guest{Primary: true, GivenName: "Ann", Surname: "Zed", Email: "A***@Example.com", Phone: "***1234", LoyaltyProgram: "GOLD"}
			boFull := Guest{GivenName: "Bo", Surname: "Aaron", Email: "bo@example.com", Phone: "+44 20 7946 0958",
				LoyaltyProgram: "GOLD", LoyaltyNumber: "G-112233"}
			boMasked := Guest{GivenName: "Bo", Surname: "Aaron", Email: "b***@example.com", Phone: "***0958", LoyaltyProgram: "GOLD"}
			annID := sha256.Sum256([]byte("ann@example.com"))
			allFields := []string{FieldEmail, FieldPhone, FieldLoyaltyNumber, FieldSpecialRequests}
			requestsFull := []SpecialRequest{{Code: "ACC", Name: "access", Text: "wheelchair, step-free room"}}
			requestsMasked := []SpecialRequest{{Code: "ACC", Name: "access"}}

			lookup := `{"confirmation":"P1","surname":"Zed"}`
			tests := []struct {
				name       string
				server     string // "audit" or "no audit"
				caller     caller
				method     string
				path, body string
				guests     []Guest
				auditKind  string // "" = no audit row
				auditID    string
			}{
				{"partner without pii", "audit", asPartner(partnerH1), "GET", "/v1/reservations/H1/P1", "", []Guest{annMasked, boMasked}, "", ""},
				{"partner with pii", "audit", asPartner(partnerPII), "GET", "/v1/reservations/H1/P1", "", []Guest{annFull, boFull}, "partner", partnerPII.AccessKeyID},
				{"partner with pii, arrivals", "audit", asPartner(partnerPII), "GET", "/v1/hotels/H1/arrivals?date=2024-07-01", "", []Guest{annFull, boFull}, "partner", partnerPII.AccessKeyID},
				{"partner without pii, arrivals", "audit", asPartner(partnerH1), "GET", "/v1/hotels/H1/arrivals?date=2024-07-01", "", []Guest{annMasked, boMasked}, "", ""},
				{"partner with pii, lookup", "audit", asPartner(partnerPII), "POST", "/v1/itineraries/lookup", lookup, []Guest{annFull, boFull}, "partner", partnerPII.AccessKeyID},
				{"guest: own entry only", "audit", asGuest(t, ann), "GET", "/v1/reservations/H1/P1", "", []Guest{annFull, boMasked}, "guest", "sha256:" + hex.EncodeToString(annID[:])},
				{"anonymous lookup", "audit", callers(t)["none"], "POST", "/v1/itineraries/lookup", lookup, []Guest{annMasked, boMasked}, "", ""},
				{"no audit: partner with pii masked", "no audit", asPartner(partnerPII), "GET", "/v1/reservations/H1/P1", "", []Guest{annMasked, boMasked}, "", ""},
				{"no audit: guest masked", "no audit", asGuest(t, ann), "GET", "/v1/reservations/H1/P1", "", []Guest{annMasked, boMasked}, "", ""},
			}
			var unaudited []string
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					srv := map[string]string{"audit": ts.URL, "no audit": noAudit.URL}[tt.server]
					var body []byte
					var rd *strings.Reader
					if tt.body != "" {
						body = []byte(tt.body)
					}
					rd = strings.NewReader(tt.body)
					req, _ := http.NewRequest(tt.method, srv+tt.path, rd)
					if body != nil {
						req.Header.Set("Content-Type", "application/json")
					}
					reqID := strings.ReplaceAll(testenv.UniqueName("pii"), "-", "")
					req.Header.Set(RequestIDHeader, reqID)
					tt.caller.auth(t, req, body)
					r := do(t, req)
					if r.status != 200 {
						t.Fatalf("status %d: %s", r.status, r.body)
					}
					var got struct {
						Guests   []Guest          `json:"guests"`
						Requests []SpecialRequest `json:"special_requests"`
						Items    []Itinerary      `json:"items"`
					}
					if err := json.Unmarshal(r.body, &got); err != nil {
						t.Fatal(err)
					}
					if len(got.Items) == 1 {
						got.Guests, got.Requests = got.Items[0].Guests, got.Items[0].SpecialRequests
					}
					if !slices.Equal(got.Guests, tt.guests) {
						t.Errorf("guests\n got %+v\nwant %+v", got.Guests, tt.guests)
					}
					// The requests' text goes with the audited views: a
					// partner with pii, a guest of the reservation.
					wantRequests := requestsMasked
					if tt.auditKind != "" {
						wantRequests = requestsFull
					}
					if !slices.Equal(got.Requests, wantRequests) {
						t.Errorf("special requests\n got %+v\nwant %+v", got.Requests, wantRequests)
					}
					if tt.auditKind == "" {
						unaudited = append(unaudited, reqID)
						return
					}
					var rows []PIIAccess
					for deadline := time.Now().Add(10 * time.Second); len(rows) == 0 && time.Now().Before(deadline); {
						time.Sleep(20 * time.Millisecond)
						rows = auditRows(t, pool, reqID)
					}
					if len(rows) != 1 {
						t.Fatalf("%d audit rows for the request, want 1", len(rows))
					}
					a := rows[0]
					if a.CallerKind != tt.auditKind || a.CallerID != tt.auditID || a.HotelCode != "H1" || a.Confirmation != "P1" ||
						!slices.Equal(a.Fields, allFields) || time.Since(a.At) > time.Minute {
						t.Errorf("audit row %+v, want %s %s H1/P1 %v now", a, tt.auditKind, tt.auditID, allFields)
					}
				})
			}
			t.Run("masked responses are not audited", func(t *testing.T) {
				if err := audit.Close(testContext(t)); err != nil { // flushes what is queued
					t.Fatal(err)
				}
				for _, id := range unaudited {
					if rows := auditRows(t, pool, id); len(rows) != 0 {
						t.Errorf("request %s showed masked data but has audit rows %+v", id, rows)
					}
				}
				if st := audit.Stats(); st.Written != 4 || st.Lost != 0 || st.Refused != 0 {
					t.Errorf("stats %+v, want 4 written", st)
				}
				m := scrape(t, srv) // the admin listener's /metrics
				for _, want := range []string{"resingest_api_pii_audit_written_total 4", "resingest_api_pii_audit_lost_total 0", "resingest_api_pii_audit_refused_total 0"} {
					if !strings.Contains(m, want+"\n") {
						t.Errorf("/metrics lacks %q", want)
					}
				}
			})
		})
	}
}

// TestAccessAuditFullAndLost blocks the audit table with a lock so the
// buffer fills: reads that would show personal data get 503 (never
// unaudited data) while masked reads go on; after the lock the queued rows
// are written. Then a dropped table loses a batch, counted and logged.
func TestAccessAuditFullAndLost(t *testing.T) {
	t.Parallel()
	store := newStore(t, "postgres", []sinks.Record{piiRecord(t)})
	db := auditDB(t)
	pool := db.Pool()
	logs := &logBuffer{}
	audit := NewAccessAudit(NewPostgresAccessLog(db), AuditOptions{Buffer: 2, Batch: 1, FlushEvery: 5 * time.Millisecond,
		EnqueueWait: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = audit.Close(ctx)
	})
	partners, err := NewPartners([]Partner{partnerH1, partnerPII})
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := newTestServer(t, store, func(o *Options) { o.Audit, o.Partners = audit, partners })

	ctx := testContext(t)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }() // no-op once rolled back
	if _, err := tx.Exec(ctx, "LOCK TABLE pii_access IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	get := func(p Partner) response {
		// A request id of its own, signed, so that no two requests are
		// replays of each other.
		req, _ := http.NewRequest("GET", ts.URL+"/v1/reservations/H1/P1", nil)
		req.Header.Set(RequestIDHeader, strings.ReplaceAll(testenv.UniqueName("r"), "-", ""))
		signAt(t, req, nil, p, time.Now())
		return do(t, req)
	}
	// One row blocks in COPY, two wait in the buffer; the next is refused.
	statuses := map[int]int{}
	for range 6 {
		statuses[get(partnerPII).status]++
	}
	if statuses[503] == 0 || statuses[200] < 3 {
		t.Fatalf("statuses %v with the audit table locked, want 200s then 503s", statuses)
	}
	if r := get(partnerH1); r.status != 200 {
		t.Fatalf("a masked read while the audit is full: %d, want 200", r.status)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return audit.Stats().Written == int64(statuses[200]) })
	if st := audit.Stats(); st.Refused != int64(statuses[503]) || st.Lost != 0 {
		t.Errorf("stats %+v, want %d refused", st, statuses[503])
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pii_access").Scan(&n); err != nil || n != statuses[200] {
		t.Errorf("%d rows (%v), want one per 200", n, err)
	}

	if _, err := pool.Exec(ctx, "DROP TABLE pii_access"); err != nil {
		t.Fatal(err)
	}
	if r := get(partnerPII); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	waitFor(t, func() bool { return audit.Stats().Lost == 1 })
	if !strings.Contains(logs.String(), "PII access audit rows lost") {
		t.Errorf("the loss is not logged:\n%s", logs)
	}
	if err := audit.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := audit.Record(ctx, []PIIAccess{{}}); !errors.Is(err, ErrAuditClosed) {
		t.Errorf("Record after Close: %v, want ErrAuditClosed", err)
	}
	if err := audit.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 10s")
}
