package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resingest/resingest/api"
)

const tokenTestSecret = "cmd-test-secret-0123456789abcdef-0123"

// tokenRun runs the CLI and returns its stdout.
func tokenRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return stdout.String(), err
}

func TestTokenGuest(t *testing.T) {
	out, err := tokenRun(t, "token", "guest", "--email", " Ann@Example.COM ", "--ttl", "10m", "--jwt-secret", tokenTestSecret)
	if err != nil {
		t.Fatal(err)
	}
	g, err := api.NewGuestTokens([]byte(tokenTestSecret), nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := g.Verify(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("printed token does not verify: %v", err)
	}
	if id != "ann@example.com" {
		t.Errorf("guest id %q, want the normalised e-mail address", id)
	}
	later, _ := api.NewGuestTokens([]byte(tokenTestSecret), func() time.Time { return time.Now().Add(11 * time.Minute) })
	if _, err := later.Verify(strings.TrimSpace(out)); err == nil {
		t.Error("a 10m token still verifies 11 minutes later")
	}

	for name, args := range map[string][]string{
		"no email":     {"token", "guest", "--jwt-secret", tokenTestSecret},
		"short secret": {"token", "guest", "--email", "a@b.c", "--jwt-secret", "short"},
		"no secret":    {"token", "guest", "--email", "a@b.c", "--jwt-secret", ""},
		"zero ttl":     {"token", "guest", "--email", "a@b.c", "--ttl", "0s", "--jwt-secret", tokenTestSecret},
	} {
		t.Run(name, func(t *testing.T) {
			if out, err := tokenRun(t, args...); err == nil {
				t.Errorf("accepted; printed %q", out)
			}
		})
	}
}

func TestTokenPartner(t *testing.T) {
	file := filepath.Join(t.TempDir(), "partners.json")
	var made []api.Partner
	for _, hotels := range []string{"H1,H2", "H3"} {
		out, err := tokenRun(t, "token", "partner", "--hotels", hotels, "--partners-file", file, "--name", "acme")
		if err != nil {
			t.Fatal(err)
		}
		var p api.Partner
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		if p.AccessKeyID == "" || len(p.SecretAccessKey) < 32 || strings.Join(p.Hotels, ",") != hotels {
			t.Fatalf("partner %+v for hotels %s", p, hotels)
		}
		made = append(made, p)
	}
	if made[0].AccessKeyID == made[1].AccessKeyID || made[0].SecretAccessKey == made[1].SecretAccessKey {
		t.Fatal("two partners got the same key")
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("partners file mode %v, want 0600", st.Mode().Perm())
	}
	table, err := api.LoadPartners(file)
	if err != nil {
		t.Fatal(err)
	}
	if table.Len() != 2 {
		t.Errorf("file holds %d partners, want 2", table.Len())
	}
	t.Run("scopes", func(t *testing.T) {
		t.Setenv("RESINGEST_SCOPES", "pii") // ignored: scopes are given on the command line only
		for _, tt := range []struct{ args, want string }{{"", ""}, {"pii", "pii"}} {
			args := []string{"token", "partner", "--hotels", "H9", "--partners-file", file}
			if tt.args != "" {
				args = append(args, "--scopes", tt.args)
			}
			out, err := tokenRun(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			var p api.Partner
			if err := json.Unmarshal([]byte(out), &p); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(p.Scopes, ","); got != tt.want {
				t.Errorf("--scopes %q: scopes %q, want %q", tt.args, got, tt.want)
			}
		}
		if _, err := api.LoadPartners(file); err != nil {
			t.Fatalf("the file with scopes does not load: %v", err)
		}
	})
	for name, args := range map[string][]string{
		"no hotels":     {"token", "partner", "--partners-file", file},
		"no file":       {"token", "partner", "--hotels", "H1"},
		"unknown scope": {"token", "partner", "--hotels", "H1", "--partners-file", file, "--scopes", "admin"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := tokenRun(t, args...); err == nil {
				t.Error("accepted")
			}
		})
	}
}
