package corpus

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteDir(t *testing.T) {
	const n = 300
	a := filepath.Join(t.TempDir(), "a", "nested") // created if missing
	b := t.TempDir()
	var calls, last int
	if err := WriteDir(context.Background(), a, n, 9, func(done int) {
		if done < last {
			t.Errorf("progress went back from %d to %d", last, done)
		}
		calls++
		last = done
	}); err != nil {
		t.Fatal(err)
	}
	if last != n || calls == 0 {
		t.Errorf("progress ended at %d after %d calls, want %d", last, calls, n)
	}
	if err := WriteDir(context.Background(), b, n, 9, nil); err != nil {
		t.Fatal(err)
	}
	want := corpusOf(9, n)
	for _, dir := range []string{a, b} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != n {
			t.Fatalf("%s holds %d files, want %d", dir, len(entries), n)
		}
		for i, m := range want {
			got, err := os.ReadFile(filepath.Join(dir, m.Name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, m.XML) || entries[i].Name() != m.Name {
				t.Fatalf("%s/%s differs from the generated message (or is out of order)", dir, m.Name)
			}
		}
	}
}

func TestWriteDirStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	err := New(Options{Seed: 1}).WriteDir(ctx, dir, 100000, func(done int) {
		if done >= 50 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) >= 100000 {
		t.Errorf("wrote all %d files despite cancellation", len(entries))
	}
}

func TestWriteDirErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dir  string
		n    int
	}{
		{"directory is a file", file, 10},
		{"negative count", t.TempDir(), -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := WriteDir(context.Background(), tc.dir, tc.n, 1, nil); err == nil {
				t.Error("WriteDir succeeded")
			}
		})
	}
}
