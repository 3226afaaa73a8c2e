package migrate

import (
	"testing"
	"time"

	"github.com/resingest/resingest/internal/e2e"
)

// TestBinaryXML backfills a directory of XML messages (with poison ones)
// with 'resingest migrate --format xml': every key of the good messages is
// stored, each poison message is a dead letter, and a second run changes
// nothing.
func TestBinaryXML(t *testing.T) {
	t.Parallel()
	c := e2e.WriteCorpus(t, t.TempDir(), 120, 7, 3)
	pool, url := testDB(t)
	run := func() {
		t.Helper()
		if out, errOut, err := e2e.Run(t, 2*time.Minute, "migrate", "--format", "xml", "--from", c.Dir,
			"--pg-url", url, "--dynamo-mode", "off"); err != nil {
			t.Fatalf("migrate --format xml: %v\n%s%s", err, out, errOut)
		}
	}
	run()
	if n := countRows(t, pool, `SELECT count(*) FROM reservations`); n != len(c.Keys()) || n == 0 {
		t.Errorf("%d reservations, want %d", n, len(c.Keys()))
	}
	if n := countRows(t, pool, `SELECT count(*) FROM dead_letters`); n != len(c.Poison) {
		t.Errorf("%d dead letters, want %d", n, len(c.Poison))
	}
	before := dumpPG(t, pool)
	run()
	if after := dumpPG(t, pool); after != before {
		t.Errorf("a second run changed the store: %s", diffLines(after, before))
	}
}
