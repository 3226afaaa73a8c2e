package layering

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Module is the module path the rules are written under.
const Module = "github.com/resingest/resingest"

// Rule forbids the packages From matches, but not Except, to import a
// package To matches, or a package outside the module that ToOutside
// matches. A pattern is a package path relative to Module (ToOutside: a
// full import path); "x/..." matches x and every package under it, "..."
// every package (of the module).
type Rule struct {
	From, Except, To []string
	ToOutside        []string
	Why              string
}

var (
	stores    = []string{"sinks/postgres", "sinks/dynamo", "sinks/archive"}
	pipeline  = []string{"pipeline", "pipeline/lease"}
	harnesses = []string{"internal/e2e", "internal/testenv"}
)

// Rules are the module's import rules (see the package documentation).
var Rules = []Rule{
	{From: stores, To: []string{"pipeline/..."}, Why: "a store must not import the pipeline"},
	{From: pipeline, To: stores, Why: "the pipeline must not import a store: declare the interface it needs"},
	{From: []string{"..."}, To: []string{"cmd/..."}, Why: "nothing imports a command"},
	{From: []string{"reservation"}, To: []string{"..."}, Why: "the canonical record imports nothing of the module"},
	{From: []string{"internal/storeerr", "internal/awsclient", "pipeline/lease"}, To: []string{"sinks/..."}, Why: "store clients below the sinks mark errors with internal/storeerr"},
	{From: []string{"..."}, Except: harnesses, To: harnesses, Why: "only tests use the test harnesses"},
	{From: stores, To: []string{"parse"}, Why: "a store does not parse: redaction is package redact"},
	{From: []string{"redact", "parse/mappings"}, To: []string{"parse"}, Why: "redaction and the built-in mappings sit below the parser"},
	{From: []string{"migrate"}, ToOutside: []string{"github.com/jackc/pgx/v5/..."}, Why: "the backfill writes Postgres through sinks/postgres, which owns every statement for its tables"},
}

// match reports whether the module-relative path pkg matches pattern.
func match(pattern, pkg string) bool {
	if pattern == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

func matchAny(patterns []string, pkg string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, pkg) })
}

// Violations checks imports (package path to the paths it imports, as `go
// list` gives them, full paths) against rules and returns one line per
// forbidden import, sorted. Packages outside the module are not checked;
// their imports are matched against ToOutside only.
func Violations(imports map[string][]string, rules []Rule) []string {
	var out []string
	for pkg, imps := range imports {
		from, ok := relative(pkg)
		if !ok {
			continue
		}
		for _, imp := range imps {
			to, inside := relative(imp)
			if inside && to == from {
				continue
			}
			for _, r := range rules {
				if !matchAny(r.From, from) || matchAny(r.Except, from) {
					continue
				}
				if inside && matchAny(r.To, to) || !inside && matchAny(r.ToOutside, imp) {
					out = append(out, fmt.Sprintf("%s imports %s: %s", from, cmp.Or(to, imp), r.Why))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// relative is path relative to Module, and false when it is outside it.
func relative(path string) (string, bool) {
	if rel, ok := strings.CutPrefix(path, Module+"/"); ok {
		return rel, true
	}
	return "", false
}
