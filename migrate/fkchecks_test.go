package migrate

import "testing"

// TestFKChecksSameState loads the same extract with the foreign-key
// triggers off (the default for a superuser) and on: the stores must end
// identical, and a second run over either must change nothing.
func TestFKChecksSameState(t *testing.T) {
	t.Parallel()
	paths := genExtract(t, 3000, 2, false)
	dumps := map[bool]string{}
	for _, checks := range []bool{false, true} {
		pool, _ := testDB(t)
		opts := Options{Workers: 2, ChunkRows: 500, FKChecks: checks}
		if _, err := New(pool, opts).Run(testContext(t), paths); err != nil {
			t.Fatalf("FKChecks=%v: %v", checks, err)
		}
		dumps[checks] = dumpPG(t, pool)
		if _, err := pool.Exec(testContext(t), `UPDATE backfill_files SET status = 'loading', rows_done = 0, lines_done = 0, rejects = 0`); err != nil {
			t.Fatal(err)
		}
		st, err := New(pool, opts).Run(testContext(t), paths)
		if err != nil {
			t.Fatalf("FKChecks=%v, re-run: %v", checks, err)
		}
		if st.Applied != 0 {
			t.Errorf("FKChecks=%v: re-run applied %d rows, want 0", checks, st.Applied)
		}
		if got := dumpPG(t, pool); got != dumps[checks] {
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
