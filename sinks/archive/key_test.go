package archive

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestObjectKey(t *testing.T) {
	t.Parallel()
	day := time.Date(2024, 5, 1, 23, 30, 0, 0, time.FixedZone("X", -3*3600)) // 2024-05-02 in UTC
	tests := []struct {
		name, prefix, hotel, want string
	}{
		{"prefix", "raw", "H00042", "raw/dt=2024-05-02/hotel=H00042/B.jsonl.gz"},
		{"prefix slashes trimmed", "/archive/raw/", "H1", "archive/raw/dt=2024-05-02/hotel=H1/B.jsonl.gz"},
		{"no prefix", "", "H1", "dt=2024-05-02/hotel=H1/B.jsonl.gz"},
		{"empty hotel", "p", "", "p/dt=2024-05-02/hotel=unknown/B.jsonl.gz"},
		{"dots only", "p", "..", "p/dt=2024-05-02/hotel=unknown/B.jsonl.gz"},
		{"slashes and spaces", "p", "../x y=z", "p/dt=2024-05-02/hotel=.._x_y_z/B.jsonl.gz"},
		{"long code cut", "p", strings.Repeat("A", 100), "p/dt=2024-05-02/hotel=" + strings.Repeat("A", 64) + "/B.jsonl.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ObjectKey(tt.prefix, day, tt.hotel, "B"); got != tt.want {
				t.Errorf("ObjectKey = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBatchID(t *testing.T) {
	t.Parallel()
	format := regexp.MustCompile(`^\d{8}T\d{6}\.\d{9}Z-[0-9a-f]{16}$`)
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		a, b       time.Time
		wantBefore bool // a's id sorts before b's
	}{
		{"later nanosecond sorts after", t0, t0.Add(time.Nanosecond), true},
		{"later day sorts after", t0, t0.Add(24 * time.Hour), true},
		{"zones do not matter", t0.In(time.FixedZone("E", 5*3600)), t0.Add(time.Second).In(time.FixedZone("W", -5*3600)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := newBatchID(tt.a), newBatchID(tt.b)
			for _, id := range []string{a, b} {
				if !format.MatchString(id) {
					t.Errorf("batch id %q does not match %s", id, format)
				}
			}
			if (a < b) != tt.wantBefore {
				t.Errorf("%q < %q = %v, want %v", a, b, a < b, tt.wantBefore)
			}
		})
	}
	t.Run("same instant is unique", func(t *testing.T) {
		seen := make(map[string]bool)
		for range 1000 {
			id := newBatchID(t0)
			if seen[id] {
				t.Fatalf("duplicate batch id %q", id)
			}
			seen[id] = true
		}
	})
}
