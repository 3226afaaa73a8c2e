package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the root command with args and returns its stderr.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stderr bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&stderr)
	err := root.ExecuteContext(context.Background())
	return stderr.String(), err
}

func TestGenWritesCorpus(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "corpus")
	stderr, err := runCLI(t, "gen", "--count", "120", "--seed", "4", "--hotels", "600", "--out", dir)
	if err != nil {
		t.Fatalf("gen: %v\n%s", err, stderr)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 120 || entries[0].Name() != "msg-000001.xml" || entries[119].Name() != "msg-000120.xml" {
		t.Fatalf("%d files (%v ...), want msg-000001.xml .. msg-000120.xml", len(entries), entries[0].Name())
	}
	if !strings.Contains(stderr, "corpus written") || !strings.Contains(stderr, "messages=120") {
		t.Errorf("no summary on stderr: %q", stderr)
	}
	first, err := os.ReadFile(filepath.Join(dir, "msg-000001.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(first, []byte("<wsa:MessageID>urn:uuid:")) && !bytes.Contains(first, []byte("<a:MessageID>urn:uuid:")) {
		t.Errorf("first message has no WS-Addressing MessageID:\n%s", first)
	}

	// Same flags, same bytes.
	again := t.TempDir()
	if _, err := runCLI(t, "gen", "--count", "120", "--seed", "4", "--hotels", "600", "--out", again); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		a, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		b, _ := os.ReadFile(filepath.Join(again, e.Name()))
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs between two runs with the same seed", e.Name())
		}
	}
}

func TestGenRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"missing out", []string{"gen", "--count", "1"}},
		{"negative count", []string{"gen", "--count", "-1", "--out", t.TempDir()}},
		{"no hotels", []string{"gen", "--hotels", "0", "--out", t.TempDir()}},
		{"stray argument", []string{"gen", "--out", t.TempDir(), "extra"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := runCLI(t, tc.args...); err == nil {
				t.Errorf("gen %v succeeded", tc.args)
			}
		})
	}
}

func TestGenProgressLogsEveryTenth(t *testing.T) {
	var buf bytes.Buffer
	progress, finish := newGenProgress(&buf, 50, slog.New(slog.NewTextHandler(&buf, nil)))
	for _, done := range []int{1, 4, 5, 6, 23, 50} { // skips thresholds on purpose
		progress(done)
	}
	finish(nil)
	if got := strings.Count(buf.String(), "gen progress"); got != 10 {
		t.Errorf("%d progress lines, want 10:\n%s", got, buf.String())
	}
	if !strings.Contains(buf.String(), "percent=100") {
		t.Errorf("no 100%% line:\n%s", buf.String())
	}
}
