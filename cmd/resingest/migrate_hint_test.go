package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/resingest/resingest/migrate"
)

// TestResumeHint: a failed load says to run again, except when the input
// is at fault: then it says what to fix first.
func TestResumeHint(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("migrate: a.csv: %w: 4 columns", migrate.ErrHeader), "fix or remove that file"},
		{fmt.Errorf("migrate: %w", migrate.ErrFileChanged), "a file changed"},
		{errors.New("postgres: connection refused"), "run the same command again to resume"},
	} {
		if got := resumeHint(tc.err); !strings.HasPrefix(got, tc.want) {
			t.Errorf("resumeHint(%v) = %q, want %q...", tc.err, got, tc.want)
		}
	}
}
