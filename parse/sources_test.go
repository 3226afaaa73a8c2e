package parse_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resingest/resingest/parse"
)

func TestSourceMappings(t *testing.T) {
	custom := filepath.Join(t.TempDir(), "vendor.yaml")
	base, err := os.ReadFile("mappings/ota2003.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(custom, base, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := parse.ParseSourceMappings("kafka:expedia-res=" + custom + ", kinesis:legacy=ota2001\nfile:/drop/hs/=ota2003,,file:/drop/any=auto")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		kind, name, want string
		ok               bool
	}{
		{"kafka", "expedia-res", custom, true},
		{"kinesis", "legacy", "ota2001", true},
		{"file", "/drop/hs", "ota2003", true}, // paths compare cleaned
		{"file", "/drop/any", "auto", true},
		{"kafka", "legacy", "", false}, // the kind is part of the key
		{"kafka", "other", "", false},
	}
	for _, c := range cases {
		if got, ok := m.For(c.kind, c.name); got != c.want || ok != c.ok {
			t.Errorf("For(%s, %s) = %q, %v; want %q, %v", c.kind, c.name, got, ok, c.want, c.ok)
		}
	}
	if s := m.String(); !strings.HasPrefix(s, "file:/drop/any=auto,file:/drop/hs=ota2003,kafka:expedia-res=") {
		t.Errorf("String() = %q", s)
	}
	if empty, err := parse.ParseSourceMappings(""); err != nil || len(empty) != 0 {
		t.Errorf("empty list: %v, %v", empty, err)
	}
}

func TestSourceMappingsRejected(t *testing.T) {
	cases := []struct{ name, spec, says string }{
		{"no mapping", "kafka:t1", "want KIND:NAME=MAPPING"},
		{"no kind", "t1=ota2003", "want KIND:NAME=MAPPING"},
		{"empty name", "kafka:=ota2003", "want KIND:NAME=MAPPING"},
		{"unknown kind", "sqs:q=ota2003", `unknown source kind "sqs"`},
		{"twice", "kafka:t1=ota2003,kafka:t1=ota2001", "kafka:t1 is given twice"},
		{"unknown built-in", "kafka:t1=ota2099", `kafka:t1: invalid mapping: no built-in mapping "ota2099"`},
		{"missing file", "file:/d=/no/such/mapping.yaml", "file:/d: invalid mapping"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse.ParseSourceMappings(c.spec)
			if !errors.Is(err, parse.ErrSourceMappings) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("error = %v, want one saying %q", err, c.says)
			}
		})
	}
}
