package pipeline_test

import (
	"testing"
	"time"

	"github.com/resingest/resingest/internal/e2e"
)

// TestKafkaStaticMemberRestart: a worker with --instance-id that is killed
// and restarted with the same id takes its partitions back at once, instead
// of waiting for its old session (60 s here) to expire, and the run ends
// with everything stored once.
func TestKafkaStaticMemberRestart(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	c := e2e.WriteCorpus(t, t.TempDir(), 1500, 12, 0)
	want := c.Expected(t)
	e2e.Produce(t, env.Brokers, env.Topic, c.Files, true)

	const session = 60 * time.Second
	args := append([]string{"consume", "--source", "kafka", "--batch-size", "100",
		"--instance-id", "worker-1", "--session-timeout", session.String(), "--exit-when-idle", "3s"}, env.Args()...)
	first := e2e.Start(t, nil, args...)
	deadline := time.Now().Add(time.Minute)
	for countBatches(first.Output()) < 2 {
		if time.Now().After(deadline) || first.Exited() {
			t.Fatalf("the worker stored no batches within a minute (exited: %v)", first.Exited())
		}
		time.Sleep(20 * time.Millisecond)
	}
	first.Kill()
	restarted := time.Now()
	second := e2e.Start(t, nil, args...)
	if err := second.Wait(session - 20*time.Second); err != nil {
		t.Fatalf("the restarted worker did not finish well within the old session's %s: %v", session, err)
	}
	t.Logf("restarted worker finished in %s", time.Since(restarted).Round(time.Millisecond))
	e2e.AssertStores(t, env, want)
	e2e.AssertAudit(t, env, c)
}
