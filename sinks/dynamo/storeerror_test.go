package dynamo

import (
	"errors"
	"strings"
	"testing"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/sinks"
)

// TestWriteMissingTableNamesTheFix: a write to a table that does not exist
// fails with a TableMissingError (inside ErrStoreUnavailable) whose message
// names the table and the command that creates it.
func TestWriteMissingTableNamesTheFix(t *testing.T) {
	t.Parallel()
	table := testenv.UniqueName("no-such-table")
	s := New(testClient(t), Options{Table: table})
	defer s.Close()
	_, err := s.Write(testContext(t), []sinks.Record{rec(t, "H302", "A", 1, "")})
	var missing *TableMissingError
	if !errors.As(err, &missing) || !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("Write to a missing table = %v; want a TableMissingError in ErrStoreUnavailable", err)
	}
	if missing.Table != table {
		t.Errorf("TableMissingError.Table = %q, want %q", missing.Table, table)
	}
	for _, want := range []string{"table " + table + " does not exist", "resingest db migrate"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
