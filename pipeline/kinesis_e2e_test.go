package pipeline_test

import (
	"regexp"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/resingest/resingest/internal/e2e"
)

// gainedShards lists the shards a worker's log says it gained.
func gainedShards(output string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`msg="lease gained".* shard=(\S+)`).FindAllStringSubmatch(output, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// TestKinesisTwoWorkersOneKilled runs two `resingest consume --source
// kinesis` processes on a 4-shard stream and SIGKILLs one mid-run: the
// survivor takes its leases once they expire, every message is stored
// and audited once in effect, and every shard ends checkpointed at its
// last record.
func TestKinesisTwoWorkersOneKilled(t *testing.T) {
	t.Parallel()
	began := time.Now()
	env := e2e.Env(t)
	c := e2e.WriteCorpus(t, t.TempDir(), 600, 31, 4)
	want := c.Expected(t)
	s := newTestStream(t, 4)
	last := s.put(t, c.Files)
	// Batches of 5 at 5 GetRecords/s per shard keep the run a few seconds
	// long, so the kill lands mid-stream.
	args := func(worker string) []string {
		return append([]string{"consume", "--source", "kinesis", "--stream", s.Name, "--kinesis-endpoint", s.Endpoint,
			"--lease-table", s.LeaseTable, "--worker-id", worker, "--lease-duration", "2s", "--batch-size", "5",
			"--idle-poll", "200ms", "--exit-when-idle", "6s"}, env.Args()...)
	}
	a := e2e.Start(t, nil, args("worker-a")...)
	b := e2e.Start(t, nil, args("worker-b")...)
	deadline := time.Now().Add(60 * time.Second)
	// Wait until the leases were balanced (two shards each) and records
	// flow.
	for len(gainedShards(a.Output())) < 2 || len(gainedShards(b.Output())) < 2 || env.Count(t, "audit") < 60 {
		if time.Now().After(deadline) || a.Exited() || b.Exited() {
			t.Fatalf("workers did not both get leases and progress (audit rows %d):\nA:\n%s\nB:\n%s", env.Count(t, "audit"), a.Output(), b.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.Kill()
	if a.Cmd.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("worker A ended by itself before the kill:\n%s", a.Output())
	}
	heldByA := gainedShards(a.Output())
	atKill := env.Count(t, "audit")
	t.Logf("killed A after %v holding %v; %d/%d messages audited", time.Since(began).Round(time.Millisecond), heldByA, atKill, len(c.Files))
	if atKill >= len(c.Files) {
		t.Fatal("the kill landed after the whole stream was consumed")
	}
	if err := b.Wait(90 * time.Second); err != nil {
		t.Fatalf("worker B: %v\n%s", err, b.Output())
	}
	gotB := gainedShards(b.Output())
	for _, shard := range heldByA {
		if !slices.Contains(gotB, shard) {
			t.Errorf("shard %s held by the killed worker was never taken by the survivor (B gained %v)", shard, gotB)
		}
	}
	e2e.AssertStores(t, env, want)
	e2e.AssertAudit(t, env, c)
	ls := s.leases(t)
	for shard, seq := range last {
		l := ls[shard]
		if l.Checkpoint != seq {
			t.Errorf("lease %s: checkpoint %s, want the last record %s", shard, l.Checkpoint, seq)
		}
		if l.Owner != "" {
			t.Errorf("lease %s still owned by %q after the survivor exited", shard, l.Owner)
		}
	}
	t.Logf("total %v", time.Since(began).Round(time.Millisecond))
}

// TestKinesisGracefulShutdown sends SIGTERM to a worker mid-stream: it
// exits 0 after checkpointing the batch in flight and releasing its
// leases (no audited record past a checkpoint, no owner left), and a
// second worker starts at once and finishes the stream.
func TestKinesisGracefulShutdown(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	c := e2e.WriteCorpus(t, t.TempDir(), 200, 51, 2)
	want := c.Expected(t)
	s := newTestStream(t, 2)
	last := s.put(t, c.Files)
	args := func(worker string) []string {
		return append([]string{"consume", "--source", "kinesis", "--stream", s.Name, "--kinesis-endpoint", s.Endpoint,
			"--lease-table", s.LeaseTable, "--worker-id", worker, "--lease-duration", "30s", "--batch-size", "5",
			"--idle-poll", "200ms", "--exit-when-idle", "3s"}, env.Args()...)
	}
	w := e2e.Start(t, nil, args("first")...)
	deadline := time.Now().Add(60 * time.Second)
	for env.Count(t, "audit") < 40 {
		if time.Now().After(deadline) || w.Exited() {
			t.Fatalf("no progress:\n%s", w.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := w.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := w.Wait(30 * time.Second); err != nil {
		t.Fatalf("worker after SIGTERM: %v\n%s", err, w.Output())
	}
	ls := s.leases(t)
	rows := env.AuditRows(t)
	if len(rows) >= len(c.Files) {
		t.Fatal("the stream was consumed before the signal")
	}
	for shard := range last {
		l := ls[shard]
		if l.Owner != "" {
			t.Errorf("lease %s still owned by %q after a clean shutdown", shard, l.Owner)
		}
		for _, r := range rows {
			if r.Partition == shard && seqLess(l.Checkpoint, r.Position) {
				t.Errorf("shard %s: record %s audited past the checkpoint %s", shard, r.Position, l.Checkpoint)
			}
		}
	}
	// The leases were released: the next worker takes them at once even
	// with a lease duration of 30s.
	start := time.Now()
	next := e2e.Start(t, nil, args("second")...)
	if err := next.Wait(60 * time.Second); err != nil {
		t.Fatalf("second worker: %v\n%s", err, next.Output())
	}
	if took := time.Since(start); took > 25*time.Second {
		t.Errorf("second worker needed %v: it waited for the leases to expire", took)
	}
	e2e.AssertStores(t, env, want)
	e2e.AssertAudit(t, env, c)
	ls = s.leases(t)
	for shard, seq := range last {
		if ls[shard].Checkpoint != seq {
			t.Errorf("lease %s: checkpoint %s, want %s", shard, ls[shard].Checkpoint, seq)
		}
	}
}
