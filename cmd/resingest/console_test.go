package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/sinks/dynamo"
	"github.com/resingest/resingest/sinks/postgres"
)

// TestConsoleFlags: the console refuses a configuration it cannot run
// with, naming the flag.
func TestConsoleFlags(t *testing.T) {
	pg := "postgres://127.0.0.1:1/x"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--pg-url", pg}, "no way to sign in"},
		{[]string{"--pg-url", pg, "--jwt-secret", "short"}, "--jwt-secret: at least 32 bytes"},
		{[]string{"--pg-url", pg, "--jwt-secret", tokenTestSecret, "--agreement-sample", "0"}, "--agreement-sample 0"},
		{[]string{"--pg-url", pg, "--jwt-secret", tokenTestSecret, "--page-timeout", "0s"}, "--page-timeout must be positive"},
		{[]string{"--pg-url", pg, "--jwt-secret", tokenTestSecret, "--sinks", "nope"}, `unknown sink "nope"`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			t.Setenv(envPGURL, "")
			t.Setenv("RESINGEST_JWT_SECRET", "")
			_, err := runCLI(t, append([]string{"console"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("console %v: %v, want an error with %q", tc.args, err, tc.want)
			}
		})
	}
}

// TestConsoleCommand runs 'resingest console' over stores a worker
// filled, reads a reservation's page with a token of 'resingest token
// ops', finds the agreement gauges on the admin listener and stops it by
// cancelling its context.
func TestConsoleCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Setenv("AWS_REGION", "us-east-1")
	url := testenv.PostgresSchema(t)
	pg, err := postgres.New(ctx, url, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if _, err := pg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	dc, err := dynamo.NewClient(ctx, testenv.DynamoEndpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	table := testenv.UniqueName("console-cmd")
	if err := dynamo.EnsureTable(ctx, dc, table); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	g := corpus.New(corpus.Options{Seed: 5, Hotels: 2})
	m := g.Next()
	if err := os.WriteFile(filepath.Join(dir, "m.xml"), m.XML, 0o600); err != nil {
		t.Fatal(err)
	}
	stores := []string{"--pg-url", url, "--dynamo-endpoint", testenv.DynamoEndpoint(t), "--dynamo-table", table}
	if _, stderr, code := runCLIOut(t, append([]string{"consume", "--source", "file", "--path", dir}, stores...)...); code != 0 {
		t.Fatalf("consume: exit %d\n%s", code, stderr)
	}
	tok, err := tokenRun(t, "token", "ops", "--subject", "alice", "--jwt-secret", tokenTestSecret)
	if err != nil {
		t.Fatal(err)
	}
	addr, admin := freeAddr(t), freeAddr(t)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() {
		root := newRootCmd()
		root.SetArgs(append([]string{"console", "--addr", addr, "--admin-addr", admin, "--jwt-secret", tokenTestSecret,
			"--agreement-interval", "100ms"}, stores...))
		done <- root.ExecuteContext(sctx)
	}()
	get := func(u, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(token))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("console exited early: %v", err)
		default:
		}
		if code, _ := get("http://"+addr+"/healthz", ""); code == http.StatusNoContent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the console never answered")
		}
	}
	page := fmt.Sprintf("http://%s/reservations/%s/%s", addr, m.Hotel, m.Key)
	if code, body := get(page, tok); code != http.StatusOK || !strings.Contains(body, "Timeline (1 message)") {
		t.Errorf("reservation page: %d\n%s", code, body)
	}
	if code, _ := get(page, ""); code != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401", code)
	}
	var metrics string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, metrics = get("http://"+admin+"/metrics", ""); strings.Contains(metrics, "resingest_store_agreement_sampled 1") {
			break
		}
	}
	if !strings.Contains(metrics, "resingest_store_agreement_sampled 1") || !strings.Contains(metrics, "resingest_store_agreement_disagreeing 0") {
		t.Errorf("the admin listener lacks the agreement gauges:\n%s", metrics)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("console stopped with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the console did not stop")
	}
}
