package migrate

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/resingest/resingest/internal/e2e"
)

// maxKills bounds TestBinarySIGKILL's interruptions.
const maxKills = 12

// TestBinarySIGKILL runs 'resingest migrate' and SIGKILLs it at random
// moments (at most maxKills times) until a run finishes; Postgres and the rejects file must
// then equal those of an uninterrupted run. DynamoDB is off: a process
// killed in the middle of a request crashes dynalite (see privateDynamo);
// TestResumeAfterKill covers DynamoDB after interrupted loads.
func TestBinarySIGKILL(t *testing.T) {
	t.Parallel()
	dir := filepath.Dir(genExtract(t, 60000, 4, true)[0])
	bad := filepath.Join(dir, "edw-bad.csv")
	if err := os.WriteFile(bad, []byte(edwHeader+goodRow("1000000001", nil)+"short,row\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spill := t.TempDir() // runs of killed presorted runs stay inside the test
	run := func(t *testing.T, mode, url, rejects string) *e2e.Process {
		return e2e.Start(t, []string{"RESINGEST_PG_URL=" + url},
			"migrate", "--from", dir, "--workers", "2", "--chunk-rows", "2000",
			"--dynamo-mode", "off", "--rejects", rejects, "--spill-dir", spill, mode)
	}

	for _, mode := range []string{"--presort=true", "--presort=false"} {
		t.Run(mode, func(t *testing.T) {
			refDB, refURL := testDB(t)
			refRejects := filepath.Join(t.TempDir(), "rejects.csv")
			if err := run(t, mode, refURL, refRejects).Wait(5 * time.Minute); err != nil {
				t.Fatalf("uninterrupted run: %v", err)
			}

			db, url := testDB(t)
			rejects := filepath.Join(t.TempDir(), "rejects.csv")
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
			kills := 0
			for i := 0; ; i++ {
				p := run(t, mode, url, rejects)
				if kills == maxKills {
					// Enough interruptions: on a loaded machine a run may
					// not get far in 100-500 ms, so the last one finishes.
					if err := p.Wait(5 * time.Minute); err != nil {
						t.Fatalf("last run failed: %v\n%s", err, p.Output())
					}
					break
				}
				time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond)
				if p.Exited() {
					if err := p.Wait(time.Second); err != nil {
						t.Fatalf("run %d failed: %v\n%s", i, err, p.Output())
					}
					break
				}
				p.Kill()
				_ = p.Signal(syscall.SIGKILL) // no-op: already gone
				kills++
			}
			if kills < 2 {
				t.Errorf("%d runs killed; the test proves little", kills)
			}
			t.Logf("%d runs killed", kills)
			dump := dumpPG
			if mode == "--presort=true" { // progress rows are named after the database
				dump = dumpStored
			}
			if got, want := dump(t, db), dump(t, refDB); got != want {
				t.Errorf("Postgres after killed runs differs: %s", diffLines(got, want))
			}
			got, _ := os.ReadFile(rejects)
			want, _ := os.ReadFile(refRejects)
			if string(got) != string(want) || len(want) == 0 {
				t.Errorf("rejects file after killed runs:\n%s\nwant:\n%s", got, want)
			}

		})
	}
}
