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

// TestKinesisResharding splits or merges shards while a worker reads them
// and more records arrive: the parents' remaining records are all stored
// before any child record (audit stored_at), the parents end checkpointed
// at SHARD_END, the children at their last records, and nothing is lost.
func TestKinesisResharding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		shards   int
		parents  []string
		children int
		reshard  func(ctx context.Context, s *testStream) error
	}{
		{"split", 1, []string{"shardId-000000000000"}, 2, func(ctx context.Context, s *testStream) error {
			mid := new(big.Int).Lsh(big.NewInt(1), 127)
			_, err := s.Client.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(s.Name),
				ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String(mid.String())})
			return err
		}},
		{"merge", 2, []string{"shardId-000000000000", "shardId-000000000001"}, 1, func(ctx context.Context, s *testStream) error {
			_, err := s.Client.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(s.Name),
				ShardToMerge: aws.String("shardId-000000000000"), AdjacentShardToMerge: aws.String("shardId-000000000001")})
			return err
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := e2e.Env(t)
			c := e2e.WriteCorpus(t, t.TempDir(), 300, uint64(41+i), 3)
			want := c.Expected(t)
			s := newTestStream(t, tt.shards)
			half := len(c.Files) / 2
			s.put(t, c.Files[:half])

			proc, metrics := newProcessor(t, env)
			cfg := s.config("solo")
			cfg.BatchSize = 10 // 5 calls/s per shard: the parents take a few seconds
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
					t.Fatal("no progress on the parent shards")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err := tt.reshard(ctx, s); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			atReshard := env.Count(t, "audit")
			if atReshard >= half {
				t.Fatalf("the parents were read to their end (%d) before the %s; the test needs a tail", atReshard, tt.name)
			}
			s.waitActive(t)
			last := s.put(t, c.Files[half:])
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			t.Logf("%s with %d/%d of the parents' messages audited", tt.name, atReshard, half)

			e2e.AssertStores(t, env, want)
			rows := e2e.AssertAudit(t, env, c)
			var parentLast, childFirst time.Time
			children := map[string]int{}
			for _, r := range rows {
				shard := r.Partition[strings.LastIndex(r.Partition, "/")+1:]
				if slices.Contains(tt.parents, shard) {
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
			if len(children) != tt.children {
				t.Fatalf("records from children %v, want %d children", children, tt.children)
			}
			if !childFirst.After(parentLast) {
				t.Errorf("a child record was stored at %v, before the parents' last at %v", childFirst, parentLast)
			}
			ls := s.leases(t)
			for _, p := range tt.parents {
				if l := ls[p]; l.Checkpoint != lease.ShardEnd {
					t.Errorf("parent lease %s checkpoint %q, want SHARD_END", p, l.Checkpoint)
				}
			}
			for shard, seq := range last {
				l := ls[shard]
				got := slices.Sorted(slices.Values(l.ParentShardIDs))
				if l.Checkpoint != seq || !slices.Equal(got, tt.parents) {
					t.Errorf("child lease %s: checkpoint %s parents %v; want %s, %v", shard, l.Checkpoint, got, seq, tt.parents)
				}
			}
		})
	}
}
