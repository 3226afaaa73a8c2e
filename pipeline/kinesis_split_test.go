package pipeline_test

import (
	"context"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/pipeline/lease"
)

// TestKinesisShardSplit splits the only shard of a stream while a worker
// reads it and more records arrive: the parent's remaining records are all
// stored before any child record (audit stored_at), the parent ends
// checkpointed at SHARD_END, the children at their last records, and
// nothing is lost.
func TestKinesisShardSplit(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	c := e2e.WriteCorpus(t, t.TempDir(), 300, 41, 3)
	want := c.Expected(t)
	s := newTestStream(t, 1)
	const parent = "shardId-000000000000"
	half := len(c.Files) / 2
	s.put(t, c.Files[:half])

	proc, metrics := newProcessor(t, env)
	cfg := s.config("solo")
	cfg.BatchSize = 10 // 5 calls/s: the parent takes a few seconds
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- pipeline.RunKinesis(ctx, cfg, proc, pipeline.RunOptions{
			ExitWhenIdle: 3 * time.Second, Metrics: metrics, Logger: testLogger(t),
		})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for env.Count(t, "audit") < 30 {
		if time.Now().After(deadline) {
			t.Fatal("no progress on the parent shard")
		}
		time.Sleep(20 * time.Millisecond)
	}
	mid := new(big.Int).Lsh(big.NewInt(1), 127)
	if _, err := s.Client.SplitShard(ctx, &kinesis.SplitShardInput{
		StreamName: aws.String(s.Name), ShardToSplit: aws.String(parent), NewStartingHashKey: aws.String(mid.String()),
	}); err != nil {
		t.Fatalf("split: %v", err)
	}
	atSplit := env.Count(t, "audit")
	if atSplit >= half {
		t.Fatalf("the parent was read to its end (%d) before the split; the test needs a tail", atSplit)
	}
	s.waitActive(t)
	last := s.put(t, c.Files[half:])
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("split with %d/%d of the parent's messages audited", atSplit, half)

	e2e.AssertStores(t, env, want)
	rows := e2e.AssertAudit(t, env, c)
	var parentLast, childFirst time.Time
	children := map[string]int{}
	for _, r := range rows {
		shard := r.Partition[strings.LastIndex(r.Partition, "/")+1:]
		if shard == parent {
			if r.StoredAt.After(parentLast) {
				parentLast = r.StoredAt
			}
			continue
		}
		children[shard]++
		if childFirst.IsZero() || r.StoredAt.Before(childFirst) {
			childFirst = r.StoredAt
		}
	}
	if len(children) != 2 {
		t.Fatalf("records from children %v, want both children", children)
	}
	if !childFirst.After(parentLast) {
		t.Errorf("a child record was stored at %v, before the parent's last at %v", childFirst, parentLast)
	}
	ls := s.leases(t)
	if l := ls[parent]; l.Checkpoint != lease.ShardEnd {
		t.Errorf("parent lease checkpoint %q, want SHARD_END", l.Checkpoint)
	}
	for shard, seq := range last {
		l := ls[shard]
		if l.Checkpoint != seq || !slices.Equal(l.ParentShardIDs, []string{parent}) {
			t.Errorf("child lease %s: checkpoint %s parents %v; want %s, [%s]", shard, l.Checkpoint, l.ParentShardIDs, seq, parent)
		}
	}
}
