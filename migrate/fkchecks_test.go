package migrate

import (
	"fmt"
	"testing"
)

// TestFKChecksSameState loads the same extract with the foreign-key
// triggers off (the default for a superuser) and on, file by file (the
// merge) and presorted (COPY straight into the tables): the stores must
// end identical, and a second run over any must change nothing.
func TestFKChecksSameState(t *testing.T) {
	t.Parallel()
	paths := genExtract(t, 3000, 2, false)
	for _, presort := range []bool{false, true} {
		t.Run(fmt.Sprintf("presort=%v", presort), func(t *testing.T) { fkChecksSameState(t, paths, presort) })
	}
}

func fkChecksSameState(t *testing.T, paths []string, presort bool) {
	dumps := map[bool]string{}
	for _, checks := range []bool{false, true} {
		db, _ := testDB(t)
		opts := Options{Workers: 2, ChunkRows: 500, FKChecks: checks, Presort: presort, SpillDir: t.TempDir()}
		if _, err := New(db, opts).Run(testContext(t), paths); err != nil {
			t.Fatalf("FKChecks=%v: %v", checks, err)
		}
		dumps[checks] = dumpStored(t, db)
		// Forget the progress: the second run merges every row again.
		if _, err := db.Pool().Exec(testContext(t), `UPDATE backfill_files SET status = 'loading', rows_done = 0, lines_done = 0, rejects = 0 WHERE path NOT LIKE 'presort:%'; DELETE FROM backfill_files WHERE path LIKE 'presort:%'`); err != nil {
			t.Fatal(err)
		}
		st, err := New(db, opts).Run(testContext(t), paths)
		if err != nil {
			t.Fatalf("FKChecks=%v, re-run: %v", checks, err)
		}
		if st.Applied != 0 {
			t.Errorf("FKChecks=%v: re-run applied %d rows, want 0", checks, st.Applied)
		}
		if got := dumpStored(t, db); got != dumps[checks] {
			t.Errorf("FKChecks=%v: re-run changed the store: %s", checks, diffLines(got, dumps[checks]))
		}
	}
	if dumps[false] != dumps[true] {
		t.Errorf("loads with and without foreign-key triggers differ: %s", diffLines(dumps[false], dumps[true]))
	}
	if countLines(dumps[false]) < 3*1000 {
		t.Errorf("only %d stored lines; the load did not happen", countLines(dumps[false]))
	}
}

func countLines(s string) int {
	n := 0
	for _, c := range s {
		if c == '\n' {
			n++
		}
	}
	return n
}
