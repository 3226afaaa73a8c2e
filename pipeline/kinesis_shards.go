package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/resingest/resingest/internal/awsclient"
	"github.com/resingest/resingest/pipeline/lease"
	"github.com/resingest/resingest/sinks"
)

// listShards returns every shard of the stream (open and closed ones still
// within the retention period).
func (w *kinesisWorker) listShards(ctx context.Context) ([]types.Shard, error) {
	var out []types.Shard
	in := &kinesis.ListShardsInput{StreamName: aws.String(w.cfg.Stream)}
	for {
		page, err := w.cfg.Client.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("kinesis: list shards of %s: %w", w.cfg.Stream, classifyKinesis(ctx, err))
		}
		out = append(out, page.Shards...)
		if page.NextToken == nil || *page.NextToken == "" {
			return out, nil
		}
		in = &kinesis.ListShardsInput{NextToken: page.NextToken}
	}
}

// parentsOf lists a shard's parents (none, one after a split, two after a
// merge).
func parentsOf(s types.Shard) []string {
	var ps []string
	for _, p := range []*string{s.ParentShardId, s.AdjacentParentShardId} {
		if p != nil && *p != "" {
			ps = append(ps, *p)
		}
	}
	return ps
}

// syncShards creates a lease for every shard of the stream that has none.
// A shard whose parent is still in the stream starts at its trim horizon
// (it holds what followed the parent's end); the others at StartPosition.
// Creation is conditional, so workers may sync at once.
func (w *kinesisWorker) syncShards(ctx context.Context) error {
	shards, err := w.listShards(ctx)
	if err != nil {
		return err
	}
	inStream := make(map[string]bool, len(shards))
	for _, s := range shards {
		inStream[aws.ToString(s.ShardId)] = true
	}
	existing, err := w.cfg.Leases.List(ctx)
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(existing))
	for _, l := range existing {
		have[l.Key] = true
	}
	for _, s := range shards {
		id := aws.ToString(s.ShardId)
		if have[id] {
			continue
		}
		parents := parentsOf(s)
		cp := w.cfg.StartPosition
		if slices.ContainsFunc(parents, func(p string) bool { return inStream[p] || have[p] }) {
			cp = lease.TrimHorizon
		}
		created, err := w.cfg.Leases.Create(ctx, lease.Lease{Key: id, Checkpoint: cp, ParentShardIDs: parents})
		if err != nil {
			return fmt.Errorf("kinesis: %w", err)
		}
		if created {
			w.log.Info("lease created", "shard", id, "parents", parents, "checkpoint", cp)
		}
	}
	return nil
}

// createChildLeases creates the leases of the shards that parent closed
// into, starting at their trim horizon.
func (w *kinesisWorker) createChildLeases(ctx context.Context, parent string) error {
	shards, err := w.listShards(ctx)
	if err != nil {
		return err
	}
	for _, s := range shards {
		parents := parentsOf(s)
		if !slices.Contains(parents, parent) {
			continue
		}
		id := aws.ToString(s.ShardId)
		created, err := w.cfg.Leases.Create(ctx, lease.Lease{Key: id, Checkpoint: lease.TrimHorizon, ParentShardIDs: parents})
		if err != nil {
			return fmt.Errorf("kinesis: %w", err)
		}
		if created {
			w.log.Info("child lease created", "shard", id, "parents", parents)
		}
	}
	return nil
}

// parentsDone reports whether every parent of a shard is read to its end:
// its lease is checkpointed at SHARD_END, or it has aged out of the stream
// (no lease and no longer listed).
func (w *kinesisWorker) parentsDone(ctx context.Context, parents []string) (bool, error) {
	var shards []types.Shard
	for _, p := range parents {
		l, err := w.cfg.Leases.Get(ctx, p)
		switch {
		case err == nil && l.Finished():
			continue
		case err == nil:
			return false, nil
		case !errors.Is(err, lease.ErrNotFound):
			return false, err
		}
		if shards == nil {
			if shards, err = w.listShards(ctx); err != nil {
				return false, err
			}
		}
		if slices.ContainsFunc(shards, func(s types.Shard) bool { return aws.ToString(s.ShardId) == p }) {
			return false, nil // listed but no lease yet: the next sync creates it
		}
	}
	return true, nil
}

// classifyKinesis marks throttling and transport failures retryable;
// anything else (a missing stream, a bad request) is not.
func classifyKinesis(ctx context.Context, err error) error {
	if isThrottle(err) || awsclient.TransientTransport(ctx, err) {
		return sinks.Retryable(err)
	}
	return err
}
