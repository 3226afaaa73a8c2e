package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/golang-jwt/jwt/v5"

	"github.com/resingest/resingest/api"
	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

// serveRecord is the reservation the serve test reads back.
func serveRecord(t *testing.T) sinks.Record {
	t.Helper()
	r := reservation.Reservation{
		MessageType: "OTA_HotelResNotifRQ", Action: reservation.ActionCreate, Status: "Book",
		Confirmation: "S1", HotelCode: "HS", CreatedAt: "2026-04-30T09:00:00Z",
		Arrival: "2026-06-01", Departure: "2026-06-03",
		Guests: []reservation.Guest{{Primary: true, GivenName: "Ann", Surname: "Zed", Email: "ann@example.com"}},
	}
	r.Normalize()
	v, err := reservation.VersionOf(&r, "")
	if err != nil {
		t.Fatal(err)
	}
	return sinks.Record{Reservation: r, Version: v}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServe runs 'resingest serve' over each store, reads the reservation
// as a guest and as a partner, and stops it by cancelling its context.
func TestServe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rec := serveRecord(t)
	partnersFile := filepath.Join(t.TempDir(), "partners.json")
	out, err := tokenRun(t, "token", "partner", "--hotels", "HS", "--partners-file", partnersFile)
	if err != nil {
		t.Fatal(err)
	}
	var partner api.Partner
	if err := json.Unmarshal([]byte(out), &partner); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenRun(t, "token", "guest", "--email", "ANN@example.com", "--jwt-secret", tokenTestSecret)
	if err != nil {
		t.Fatal(err)
	}

	// An identity provider whose ES256 tokens serve accepts via --jwks-url.
	idpKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		b64 := base64.RawURLEncoding.EncodeToString
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "EC", "kid": "k1", "alg": "ES256",
			"crv": "P-256", "x": b64(idpKey.X.FillBytes(make([]byte, 32))), "y": b64(idpKey.Y.FillBytes(make([]byte, 32)))}}})
	}))
	defer idp.Close()
	idpTok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": "https://idp.test", "aud": "app",
		"sub": "ann@example.com", "exp": time.Now().Add(time.Hour).Unix()})
	idpTok.Header["kid"] = "k1"
	jwksTok, err := idpTok.SignedString(idpKey)
	if err != nil {
		t.Fatal(err)
	}

	stores := map[string]func(t *testing.T) []string{
		"postgres": func(t *testing.T) []string {
			url := testenv.PostgresSchema(t)
			pg, err := postgres.New(ctx, url, postgres.Options{MaxConns: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer pg.Close()
			if _, err := pg.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := pg.Write(ctx, []sinks.Record{rec}); err != nil {
				t.Fatal(err)
			}
			return []string{"--store", "postgres", "--pg-url", url}
		},
		"dynamo": func(t *testing.T) []string {
			endpoint := testenv.DynamoEndpoint(t)
			c, err := dynamo.NewClient(ctx, endpoint)
			if err != nil {
				t.Fatal(err)
			}
			table := testenv.UniqueName("serve")
			if err := dynamo.EnsureTable(ctx, c, table); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_, _ = c.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
			})
			if _, err := dynamo.New(c, dynamo.Options{Table: table}).Write(ctx, []sinks.Record{rec}); err != nil {
				t.Fatal(err)
			}
			// Postgres holds the PII access audit.
			url := testenv.PostgresSchema(t)
			pg, err := postgres.New(ctx, url, postgres.Options{MaxConns: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer pg.Close()
			if _, err := pg.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			return []string{"--store", "dynamo", "--dynamo-endpoint", endpoint, "--dynamo-table", table, "--pg-url", url}
		},
	}
	for name, setup := range stores {
		t.Run(name, func(t *testing.T) {
			t.Setenv("AWS_ACCESS_KEY_ID", "test") // dynalite checks no signature
			t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
			t.Setenv("AWS_REGION", "us-east-1")
			addr, adminAddr := freeAddr(t), freeAddr(t)
			args := append([]string{"serve", "--addr", addr, "--admin-addr", adminAddr, "--jwt-secret", tokenTestSecret,
				"--partners-file", partnersFile, "--jwks-url", idp.URL, "--jwks-issuer", "https://idp.test", "--jwks-audience", "app"}, setup(t)...)
			sctx, stop := context.WithCancel(ctx)
			defer stop()
			done := make(chan error, 1)
			go func() {
				root := newRootCmd()
				root.SetArgs(args)
				done <- root.ExecuteContext(sctx)
			}()
			base := "http://" + addr
			waitReady(t, base, done)

			get := func(req *http.Request) int {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			req, _ := http.NewRequest("GET", base+"/v1/reservations/HS/S1", nil)
			req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok))
			if st := get(req); st != 200 {
				t.Errorf("guest: status %d", st)
			}
			req, _ = http.NewRequest("GET", base+"/v1/reservations/HS/S1", nil)
			req.Header.Set("Authorization", "Bearer "+jwksTok)
			if st := get(req); st != 200 {
				t.Errorf("guest with an identity provider's ES256 token: status %d", st)
			}
			req, _ = http.NewRequest("GET", base+"/v1/hotels/HS/arrivals?date=2026-06-01", nil)
			sum := sha256.Sum256(nil)
			creds := aws.Credentials{AccessKeyID: partner.AccessKeyID, SecretAccessKey: partner.SecretAccessKey}
			if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), api.SigV4Service, api.DefaultRegion, time.Now()); err != nil {
				t.Fatal(err)
			}
			if st := get(req); st != 200 {
				t.Errorf("partner: status %d", st)
			}
			req, _ = http.NewRequest("GET", base+"/v1/reservations/HS/S1", nil)
			if st := get(req); st != 401 {
				t.Errorf("no credentials: status %d", st)
			}
			// The PII access audit's month partitions are made ahead.
			pgURL := args[slices.Index(args, "--pg-url")+1]
			waitForPartition(t, ctx, pgURL, "pii_access_"+time.Now().UTC().AddDate(0, 0, 1-time.Now().UTC().Day()).AddDate(0, postgres.DefaultMonthsAhead, 0).Format("200601"))
			// Metrics are on the admin listener only.
			req, _ = http.NewRequest("GET", base+"/metrics", nil)
			if st := get(req); st != 404 {
				t.Errorf("/metrics on the public listener: status %d, want 404", st)
			}
			resp, err := http.Get("http://" + adminAddr + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(metrics), `resingest_api_requests_total{route="GET /v1/reservations/{hotel_code}/{confirmation}",status="200"} 2`) {
				t.Errorf("admin /metrics: status %d, body lacks the reservation reads:\n%.2000s", resp.StatusCode, metrics)
			}
			stop()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("serve: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not stop")
			}
			// The guest saw their own address twice: two audit rows, written by
			// the time serve returned. The partner has no pii scope.
			pg, err := postgres.New(ctx, pgURL, postgres.Options{MaxConns: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer pg.Close()
			var kinds []string
			if err := pg.Pool().QueryRow(ctx, "SELECT coalesce(array_agg(caller_kind), '{}') FROM pii_access").Scan(&kinds); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(kinds, []string{"guest", "guest"}) {
				t.Errorf("audit rows by %v, want two by the guest", kinds)
			}
		})
	}

	t.Run("bad flags", func(t *testing.T) {
		for name, args := range map[string][]string{
			"unknown store":    {"serve", "--store", "mongo", "--addr", freeAddr(t)},
			"short secret":     {"serve", "--jwt-secret", "short", "--store", "postgres", "--addr", freeAddr(t)},
			"postgres, no url": {"serve", "--store", "postgres", "--pg-url", "", "--addr", freeAddr(t)},
			"no audit table":   {"serve", "--store", "postgres", "--pg-url", testenv.PostgresSchema(t), "--addr", freeAddr(t)},
			"unreachable JWKS": {"serve", "--jwks-url", "http://127.0.0.1:1/jwks.json", "--store", "postgres", "--addr", freeAddr(t)},
			"bad admin addr":   {"serve", "--store", "dynamo", "--dynamo-endpoint", "http://127.0.0.1:1", "--addr", freeAddr(t), "--admin-addr", "256.0.0.1:x"},
		} {
			t.Run(name, func(t *testing.T) {
				if name == "postgres, no url" || name == "bad admin addr" {
					t.Setenv("RESINGEST_PG_URL", "")
				}
				_, err := tokenRun(t, args...)
				if err == nil {
					t.Fatal("accepted")
				}
				if name == "bad admin addr" && !strings.Contains(err.Error(), "--admin-addr") {
					t.Errorf("error %q does not name --admin-addr", err)
				}
			})
		}
	})
}

// waitReady polls /readyz until it answers 200 or serve exits.
func waitReady(t *testing.T, base string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v", err)
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("serve never became ready")
}

// waitForPartition waits up to 10s for the month partition name to exist
// in the database at url.
func waitForPartition(t *testing.T, ctx context.Context, url, name string) {
	t.Helper()
	conn, err := postgres.ConnectURL(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	deadline := time.Now().Add(10 * time.Second)
	for {
		parts, err := postgres.MonthPartitions(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			if p.Name == name {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no partition %s after 10s (have %v)", name, parts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
