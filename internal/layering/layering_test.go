package layering

import (
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestModuleFollowsTheRules lists every package of the module with `go
// list` (production imports only: a test may import what it needs) and
// fails on every import the rules forbid.
func TestModuleFollowsTheRules(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, Module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	imports := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) > 0 {
			imports[f[0]] = f[1:]
		}
	}
	// The rules are about packages that exist: a rename must update them.
	for _, pkg := range []string{"pipeline", "pipeline/lease", "migrate", "sinks/postgres", "sinks/dynamo", "sinks/archive", "reservation", "cmd/resingest", "internal/e2e", "internal/testenv", "ledger", "redact", "parse", "parse/mappings"} {
		if _, ok := imports[Module+"/"+pkg]; !ok {
			t.Errorf("package %s named by the rules is not in the module", pkg)
		}
	}
	for _, v := range Violations(imports, Rules) {
		t.Error(v)
	}
}

// TestViolations: the checker finds each kind of forbidden import in a
// made-up module and accepts the allowed ones.
func TestViolations(t *testing.T) {
	m := func(rel ...string) []string {
		var out []string
		for _, r := range rel {
			out = append(out, Module+"/"+r)
		}
		return out
	}
	imports := map[string][]string{
		Module + "/pipeline":       append(m("sinks/postgres", "ledger", "sinks"), "context"),
		Module + "/pipeline/lease": m("sinks", "internal/storeerr"),
		Module + "/pipeline/peek":  m("sinks/archive"),
		Module + "/sinks/dynamo":   m("pipeline/lease", "reservation"),
		Module + "/api":            m("cmd/resingest", "internal/testenv"),
		Module + "/reservation":    m("pii"),
		Module + "/ledger":         m("reservation", "pii"),
		Module + "/internal/e2e":   m("internal/testenv"),
		Module + "/migrate":        append(m("sinks/postgres"), "github.com/jackc/pgx/v5/pgconn", "github.com/jackc/pgx/v5", "context"),
		"example.com/other":        m("cmd/resingest"),
	}
	want := []string{
		"api imports cmd/resingest: nothing imports a command",
		"api imports internal/testenv: only tests use the test harnesses",
		"migrate imports github.com/jackc/pgx/v5/pgconn: the backfill writes Postgres through sinks/postgres, which owns every statement for its tables",
		"migrate imports github.com/jackc/pgx/v5: the backfill writes Postgres through sinks/postgres, which owns every statement for its tables",
		"pipeline imports sinks/postgres: the pipeline must not import a store: declare the interface it needs",
		"pipeline/lease imports sinks: store clients below the sinks mark errors with internal/storeerr",
		"reservation imports pii: the canonical record imports nothing of the module",
		"sinks/dynamo imports pipeline/lease: a store must not import the pipeline",
	}
	if got := Violations(imports, Rules); !slices.Equal(got, want) {
		t.Errorf("Violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
