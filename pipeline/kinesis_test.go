package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/pipeline/lease"
)

// TestKinesisWorker runs one in-process worker over a 2-shard stream: every
// message is stored and audited once, poison is dead-lettered, every shard
// is checkpointed at its last record and the leases are released on exit.
func TestKinesisWorker(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	c := e2e.WriteCorpus(t, t.TempDir(), 150, 21, 3)
	want := c.Expected(t)
	s := newTestStream(t, 2)
	last := s.put(t, c.Files)
	proc, metrics := newProcessor(t, env)
	km := pipeline.NewKinesisMetrics(prometheus.NewRegistry())
	cfg := s.config("solo")
	cfg.Metrics = km
	var counts outcomeCounter
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	start := time.Now()
	err := pipeline.RunKinesis(ctx, cfg, proc, pipeline.RunOptions{
		ExitWhenIdle: 2 * time.Second, Metrics: metrics, Logger: testLogger(t), OnBatch: counts.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d messages in %v", counts.get(), time.Since(start).Round(time.Millisecond))
	if counts.get() != len(c.Files) {
		t.Errorf("acknowledged %d messages, want %d", counts.get(), len(c.Files))
	}
	e2e.AssertStores(t, env, want)
	e2e.AssertAudit(t, env, c)
	ls := s.leases(t)
	if len(ls) != 2 {
		t.Fatalf("%d leases, want 2", len(ls))
	}
	for shard, seq := range last {
		l := ls[shard]
		if l.Checkpoint != seq || l.Owner != "" {
			t.Errorf("lease %s: checkpoint %s owner %q; want %s, released", shard, l.Checkpoint, l.Owner, seq)
		}
	}
	if got := counterValue(t, km.LeaseEvents.WithLabelValues(lease.EventGained)); got != 2 {
		t.Errorf("lease gained events %v, want 2", got)
	}
	var read float64
	for shard := range last {
		read += counterValue(t, km.Records.WithLabelValues(shard))
	}
	if int(read) != len(c.Files) {
		t.Errorf("records metric %v, want %d", read, len(c.Files))
	}
}
