package main

import (
	"strings"
	"testing"
)

// TestConsumePendingFlags: the key-resolution settings are validated before
// anything connects (nothing listens at the URL).
func TestConsumePendingFlags(t *testing.T) {
	t.Parallel()
	const url = "postgres://nobody@127.0.0.1:1/none"
	tests := []struct {
		name string
		args []string
	}{
		{"zero ttl", []string{"--pending-ttl", "0s"}},
		{"negative ttl", []string{"--pending-ttl", "-1h"}},
		{"zero sweep interval", []string{"--pending-sweep-interval", "0s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"consume", "--source", "file", "--path", t.TempDir(), "--pg-url", url}, tc.args...)
			_, _, err := dlqRun(t, args...)
			if err == nil || !strings.Contains(err.Error(), "--pending-ttl and --pending-sweep-interval must be positive") {
				t.Errorf("%v: error %v, want the pending settings named", tc.args, err)
			}
		})
	}
	out, _, err := dlqRun(t, "consume", "--help")
	if err != nil || !strings.Contains(out, "--pending-ttl") || !strings.Contains(out, "336h") {
		t.Errorf("consume --help does not document --pending-ttl (default 336h): %v", err)
	}
}
