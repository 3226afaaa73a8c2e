package lease_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/pipeline/lease"
	"github.com/resingest/resingest/sinks/dynamo"
)

// newTable creates a fresh lease table on the local DynamoDB with the
// given shards' leases, dropped when the test ends.
func newTable(t *testing.T, shards ...string) *lease.Table {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := dynamo.NewClient(ctx, testenv.DynamoEndpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	tab := lease.NewTable(c, testenv.UniqueName("leases"))
	if err := tab.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, err := c.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(tab.Name())})
		if err != nil {
			t.Errorf("delete lease table: %v", err)
		}
	})
	for _, s := range shards {
		created, err := tab.Create(ctx, lease.Lease{Key: s, Checkpoint: lease.TrimHorizon})
		if err != nil || !created {
			t.Fatalf("create lease %s: created=%v err=%v", s, created, err)
		}
	}
	return tab
}

func newManager(t *testing.T, tab *lease.Table, id string, d time.Duration) *lease.Manager {
	t.Helper()
	m, err := lease.NewManager(tab, lease.Config{WorkerID: id, LeaseDuration: d})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func get(t *testing.T, tab *lease.Table, key string) lease.Lease {
	t.Helper()
	l, err := tab.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLeaseLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tab := newTable(t, "shardId-000000000000")
	if created, err := tab.Create(ctx, lease.Lease{Key: "shardId-000000000000", Checkpoint: lease.Latest}); err != nil || created {
		t.Fatalf("second create: created=%v err=%v, want false, nil", created, err)
	}
	a := newManager(t, tab, "worker-a", 5*time.Second)
	res, err := a.Take(ctx)
	if err != nil || len(res.Gained) != 1 {
		t.Fatalf("take: %d gained, err %v; want 1", len(res.Gained), err)
	}
	h := res.Gained[0]
	l := get(t, tab, h.Key())
	if l.Owner != "worker-a" || l.Counter != 1 || l.OwnerSwitches != 1 || l.Checkpoint != lease.TrimHorizon {
		t.Fatalf("after take: %+v", l)
	}
	seq := "49590338271490256608559692538361571095921575989136588898" // 56 digits
	if err := a.Checkpoint(ctx, h, seq); err != nil {
		t.Fatal(err)
	}
	l = get(t, tab, h.Key())
	if l.Checkpoint != seq || l.Counter != 2 || l.OwnerSwitches != 0 {
		t.Fatalf("after checkpoint: %+v", l)
	}
	if err := a.ReleaseAll(ctx); err != nil {
		t.Fatal(err)
	}
	if !h.IsLost() {
		t.Error("a released lease's Lost channel is open")
	}
	l = get(t, tab, h.Key())
	if l.Owner != "" || l.Checkpoint != seq || l.Counter != 3 {
		t.Fatalf("after release: %+v", l)
	}
	// Released: another worker takes it at once, without waiting.
	b := newManager(t, tab, "worker-b", time.Hour)
	if res, err := b.Take(ctx); err != nil || len(res.Gained) != 1 {
		t.Fatalf("take after release: %d gained, err %v; want 1", len(res.Gained), err)
	}
}

func TestConditionalWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tab := newTable(t, "s0")
	fresh := get(t, tab, "s0")
	owned, err := tab.Take(ctx, fresh, "a")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		op   func() error
	}{
		{"second take with the same counter", func() error { _, err := tab.Take(ctx, fresh, "b"); return err }},
		{"renew with a stale counter", func() error { _, err := tab.Renew(ctx, fresh, "a"); return err }},
		{"renew by another owner", func() error { _, err := tab.Renew(ctx, owned, "b"); return err }},
		{"checkpoint by another owner", func() error { _, err := tab.Checkpoint(ctx, owned, "b", "1"); return err }},
		{"release by another owner", func() error { _, err := tab.Release(ctx, owned, "b"); return err }},
		{"renew of a missing lease", func() error {
			_, err := tab.Renew(ctx, lease.Lease{Key: "nope", Owner: "a"}, "a")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(); !errors.Is(err, lease.ErrLost) {
				t.Fatalf("err = %v, want ErrLost", err)
			}
		})
	}
	if l := get(t, tab, "s0"); l.Owner != "a" || l.Counter != owned.Counter {
		t.Fatalf("a refused write changed the lease: %+v", l)
	}
	if _, err := tab.Get(ctx, "nope"); !errors.Is(err, lease.ErrNotFound) {
		t.Fatalf("get missing: %v, want ErrNotFound", err)
	}
}

func TestExpiryAndRenewal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const d = time.Second
	tab := newTable(t, "s0")
	a := newManager(t, tab, "a", d)
	res, err := a.Take(ctx)
	if err != nil || len(res.Gained) != 1 {
		t.Fatalf("a take: %v %v", res.Gained, err)
	}
	ha := res.Gained[0]
	// A renews on its own goroutine: B must never see the lease expire.
	rctx, stopRenew := context.WithCancel(ctx)
	go a.RunRenewer(rctx)
	b := newManager(t, tab, "b", d)
	deadline := time.Now().Add(3 * d)
	for time.Now().Before(deadline) {
		res, err := b.Take(ctx)
		if err != nil || len(res.Gained) != 0 {
			t.Fatalf("b took a renewed lease: %d gained, err %v", len(res.Gained), err)
		}
		time.Sleep(d / 4)
	}
	// A dies (stops renewing): B takes the lease once it was silent for d.
	stopRenew()
	died := time.Now()
	for {
		res, err := b.Take(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Gained) == 1 {
			break
		}
		if time.Since(died) > 4*d {
			t.Fatal("b did not take the expired lease")
		}
		time.Sleep(d / 4)
	}
	if waited := time.Since(died); waited < d {
		t.Errorf("b took the lease after %v, before it expired (%v)", waited, d)
	}
	// A's next write fails, closes its Lost channel and writes nothing.
	if err := a.Checkpoint(ctx, ha, "42"); !errors.Is(err, lease.ErrLost) {
		t.Fatalf("a checkpoint after losing: %v, want ErrLost", err)
	}
	select {
	case <-ha.Lost():
	default:
		t.Fatal("a's Lost channel is open after the lease moved")
	}
	if l := get(t, tab, "s0"); l.Owner != "b" || l.Checkpoint != lease.TrimHorizon || l.OwnerSwitches != 2 {
		t.Fatalf("lease after the move: %+v", l)
	}
}

func TestBalanceTwoWorkersFourShards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	shards := []string{"s0", "s1", "s2", "s3"}
	tab := newTable(t, shards...)
	a, err := lease.NewManager(tab, lease.Config{WorkerID: "a", LeaseDuration: time.Hour, RenewInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := a.Take(ctx); err != nil || len(res.Gained) != 4 {
		t.Fatalf("a alone: %d gained, err %v; want 4", len(res.Gained), err)
	}
	b := newManager(t, tab, "b", time.Hour)
	// B steals one lease per cycle until both hold their share; further
	// cycles move nothing.
	for cycle := 1; cycle <= 4; cycle++ {
		res, err := b.Take(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		if cycle <= 2 {
			want = 1
		}
		if len(res.Gained) != want {
			t.Fatalf("cycle %d: b gained %d, want %d", cycle, len(res.Gained), want)
		}
		if _, err := a.Take(ctx); err != nil { // a must not steal back
			t.Fatal(err)
		}
	}
	owners := map[string]int{}
	for _, s := range shards {
		owners[get(t, tab, s).Owner]++
	}
	if fmt.Sprint(owners) != "map[a:2 b:2]" {
		t.Fatalf("owners %v, want 2 each", owners)
	}
	if a.HeldCount() != 4 {
		t.Fatalf("a still believes it holds %d (renewal not run yet), want 4", a.HeldCount())
	}
	// A's next renewal round notices the two stolen leases.
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	go a.RunRenewer(rctx)
	for a.HeldCount() != 2 && rctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	if a.HeldCount() != 2 {
		t.Fatalf("a holds %d after renewing, want 2", a.HeldCount())
	}
}

// TestOwnWriteWithLostAnswer: a renewal this worker sent whose answer was
// lost (a cancelled request) moves the counter; the manager adopts it
// instead of giving the lease up, and the release still works.
func TestOwnWriteWithLostAnswer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tab := newTable(t, "s0")
	a := newManager(t, tab, "a", time.Hour)
	res, err := a.Take(ctx)
	if err != nil || len(res.Gained) != 1 {
		t.Fatalf("take: %v %v", res.Gained, err)
	}
	h := res.Gained[0]
	for _, step := range []struct {
		name string
		op   func() error
	}{
		{"checkpoint", func() error { return a.Checkpoint(ctx, h, "7") }},
		{"release", func() error { return a.ReleaseAll(ctx) }},
	} {
		// The lost answer: the table moved on behind the manager's back.
		if _, err := tab.Renew(ctx, get(t, tab, "s0"), "a"); err != nil {
			t.Fatal(err)
		}
		if err := step.op(); err != nil {
			t.Fatalf("%s after a write with a lost answer: %v", step.name, err)
		}
	}
	if l := get(t, tab, "s0"); l.Owner != "" || l.Checkpoint != "7" {
		t.Fatalf("lease %+v, want released with checkpoint 7", l)
	}
}
