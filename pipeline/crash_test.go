package pipeline_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/resingest/resingest/internal/e2e"
)

// crashSeed replays the kill schedule of an earlier run of TestCrashSafety
// (its log prints the seed): go test ./pipeline -run CrashSafety -args -crash-seed=N.
var crashSeed = flag.Int64("crash-seed", 0, "seed of TestCrashSafety's kill schedule (0: from the clock)")

// TestCrashSafety kills a worker with SIGKILL at random moments while it
// consumes, restarts it, and checks afterwards that nothing is missing,
// nothing older replaced something newer, every message has exactly one
// audit row and the dead letters are exactly the poison messages.
//
// The records carry no keys, so the versions of a reservation are spread
// over the partitions and arrive in any order: only the version guard
// keeps the newest. Batches of 100 keep a kill likely to land between the
// stores' writes and the offset commit, so batches are redelivered; after
// each kill the test also checks that every committed offset covers only
// audited records.
func TestCrashSafety(t *testing.T) {
	t.Parallel()
	const (
		messages = 3000
		poison   = 10
		kills    = 4
		// maxKillDelay bounds the wait after a restarted worker's first
		// progress: short enough that the kills land before the corpus
		// is consumed.
		maxKillDelay = 600 * time.Millisecond
	)
	seed := *crashSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("kill schedule seed %d (replay with -args -crash-seed=%d)", seed, seed)
	rng := rand.New(rand.NewSource(seed))
	began := time.Now()

	env := e2e.Env(t)
	c := e2e.WriteCorpus(t, t.TempDir(), messages, 11, poison)
	want := c.Expected(t)
	e2e.Produce(t, env.Brokers, env.Topic, c.Files, false)
	total := len(c.Files)
	t.Logf("setup: %d messages (%d poison, %d reservations) produced without keys in %v",
		total, len(c.Poison), len(want), time.Since(began).Round(time.Millisecond))

	adm := newKafkaAdmin(t, env.Brokers)
	args := append([]string{"consume", "--batch-size", "100"}, env.Args()...)
	midStream := 0
	inWindow := 0 // kills that left stored records unaudited or audited records uncommitted
	for i := 1; i <= kills; i++ {
		before := env.Count(t, "audit")
		w := e2e.Start(t, nil, args...)
		// Wait for new audit rows (a restarted worker may first replay
		// audited records, which add none), then a random moment more.
		deadline := time.Now().Add(60 * time.Second)
		for env.Count(t, "audit") <= before && before < total {
			if w.Exited() {
				t.Fatalf("kill %d: the worker exited on its own before any progress:\n%s", i, w.Output())
			}
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: no progress within 60s (audit rows: %d)", i, before)
			}
			time.Sleep(20 * time.Millisecond)
		}
		delay := time.Duration(rng.Int63n(int64(maxKillDelay)))
		time.Sleep(delay)
		// Every other kill also waits for a moment when a batch is in
		// the stores but not yet audited (so not committed either): the
		// window a crash must not lose or double-count.
		targeted := i%2 == 0
		if targeted {
			waitStoredUnaudited(t, env.PostgresURL, 10*time.Second)
		}
		w.Kill()
		if w.Cmd.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("kill %d: the worker ended by itself before the kill (%v):\n%s", i, w.Cmd.ProcessState, w.Output())
		}

		// The worker is gone: what is stored, audited and committed now
		// stays until the next worker starts.
		audited := auditedOffsets(t, env.PostgresURL)
		committed := committedOffsets(t, adm, env.Group, env.Topic)
		assertCommitsAudited(t, fmt.Sprintf("after kill %d", i), committed, audited)
		nAudited, nCommitted := audited.count(), sumOffsets(committed)
		unaudited := storedUnaudited(t, env.PostgresURL)
		if unaudited > 0 || nAudited > nCommitted {
			inWindow++
		}
		t.Logf("kill %d at %v after first progress (waiting for a batch in flight: %v): %d/%d messages audited, %d committed, %d reservations stored by messages not yet audited (this or an earlier kill's batches, not redelivered yet)",
			i, delay.Round(time.Millisecond), targeted, nAudited, total, nCommitted, unaudited)
		if nAudited < int64(total) {
			midStream++
		}
		// The coordinator would drop the dead member after its session
		// timeout (45 s); dropping it now lets the next worker join at
		// once, with the same effect.
		evictMembers(t, adm, env.Group)
	}
	if midStream < 3 {
		t.Fatalf("only %d of %d kills landed before the corpus was consumed; the test needs at least 3 (lower maxKillDelay)", midStream, kills)
	}
	if inWindow == 0 {
		t.Fatal("no kill landed between a batch's store writes and its offset commit")
	}

	final := time.Now()
	w := e2e.Start(t, nil, append(args[:len(args):len(args)], "--exit-when-idle", "5s")...)
	if err := w.Wait(90 * time.Second); err != nil {
		t.Fatalf("final worker: %v\n%s", err, w.Output())
	}
	t.Logf("final worker finished in %v: %s", time.Since(final).Round(time.Millisecond), lastLine(w.Output()))

	e2e.AssertStores(t, env, want)
	e2e.AssertAudit(t, env, c)
	assertAllCommitted(t, adm, env.Group, env.Topic)
	t.Logf("total %v", time.Since(began).Round(time.Millisecond))
}

// kafkaAdmin is an admin client with its underlying client, for requests
// kadm does not wrap.
type kafkaAdmin struct {
	*kadm.Client
	kgo *kgo.Client
}

// newKafkaAdmin returns an admin client of the local Kafka, closed when
// the test ends.
func newKafkaAdmin(t testing.TB, brokers []string) kafkaAdmin {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatalf("kafka client: %v", err)
	}
	t.Cleanup(cl.Close)
	return kafkaAdmin{Client: kadm.NewClient(cl), kgo: cl}
}

// committedOffsets returns the group's committed offset per partition of
// topic (partitions without a commit are absent).
func committedOffsets(t testing.TB, adm kafkaAdmin, group, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resps, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = resps.Error()
	}
	if err != nil {
		t.Fatalf("fetch committed offsets of group %s: %v", group, err)
	}
	out := make(map[int32]int64)
	resps.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.At >= 0 {
			out[o.Partition] = o.At
		}
	})
	return out
}

func sumOffsets(m map[int32]int64) int64 {
	var n int64
	for _, o := range m {
		n += o
	}
	return n
}

// offsetSet is the set of Kafka offsets per partition that have an audit
// row.
type offsetSet map[int32]map[int64]bool

func (s offsetSet) count() int64 {
	var n int64
	for _, p := range s {
		n += int64(len(p))
	}
	return n
}

// auditedOffsets reads the Kafka positions of the audit trail.
func auditedOffsets(t testing.TB, pgURL string) offsetSet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, "SELECT partition, position FROM audit WHERE source = 'kafka'")
	if err != nil {
		t.Fatalf("read audit positions: %v", err)
	}
	set := make(offsetSet)
	var part, pos string
	_, err = pgx.ForEachRow(rows, []any{&part, &pos}, func() error {
		i := strings.LastIndexByte(part, '/')
		p, err1 := strconv.ParseInt(part[i+1:], 10, 32)
		o, err2 := strconv.ParseInt(pos, 10, 64)
		if i < 0 || err1 != nil || err2 != nil {
			return fmt.Errorf("audit row with a position that is not topic/partition and offset: %q %q", part, pos)
		}
		if set[int32(p)] == nil {
			set[int32(p)] = make(map[int64]bool)
		}
		set[int32(p)][o] = true
		return nil
	})
	if err != nil {
		t.Fatalf("read audit positions: %v", err)
	}
	return set
}

// assertCommitsAudited checks the delivery rule: a committed offset c of a
// partition means every record below c was acknowledged by every sink, so
// each of them has an audit row (written last in a batch).
func assertCommitsAudited(t testing.TB, when string, committed map[int32]int64, audited offsetSet) {
	t.Helper()
	for p, c := range committed {
		for o := int64(0); o < c; o++ {
			if !audited[p][o] {
				t.Errorf("%s: partition %d committed up to offset %d, but the record at offset %d has no audit row (committed past an unwritten record)", when, p, c, o)
				break
			}
		}
	}
}

// assertAllCommitted checks that the group committed every partition of
// topic up to its end.
func assertAllCommitted(t testing.TB, adm kafkaAdmin, group, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatalf("list end offsets of %s: %v", topic, err)
	}
	committed := committedOffsets(t, adm, group, topic)
	ends.Each(func(lo kadm.ListedOffset) {
		if got := committed[lo.Partition]; got != lo.Offset {
			t.Errorf("partition %d: committed offset %d, want the end %d", lo.Partition, got, lo.Offset)
		}
	})
}

// evictMembers removes every member from group, as the coordinator does
// once a dead member's session times out.
func evictMembers(t testing.TB, adm kafkaAdmin, group string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	described, err := adm.DescribeGroups(ctx, group)
	if err == nil {
		err = described.Error()
	}
	if err != nil {
		t.Fatalf("describe group %s: %v", group, err)
	}
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = group
	for _, m := range described[group].Members {
		rm := kmsg.NewLeaveGroupRequestMember()
		rm.MemberID = m.MemberID
		req.Members = append(req.Members, rm)
	}
	if len(req.Members) == 0 {
		return
	}
	resp, err := req.RequestWith(ctx, adm.kgo)
	if err != nil {
		t.Fatalf("evict the members of group %s: %v", group, err)
	}
	for _, m := range resp.Members {
		if m.ErrorCode != 0 {
			t.Fatalf("evict member %s of group %s: error code %d", m.MemberID, group, m.ErrorCode)
		}
	}
}

// storedUnauditedSQL counts reservations whose stored version came from a
// message that has no audit row yet: stored, but not acknowledged.
const storedUnauditedSQL = `
SELECT count(*) FROM reservations r
WHERE NOT EXISTS (SELECT 1 FROM audit a WHERE a.message_id = r.message_id)`

func storedUnaudited(t testing.TB, pgURL string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, storedUnauditedSQL).Scan(&n); err != nil {
		t.Fatalf("count unaudited reservations: %v", err)
	}
	return n
}

// waitStoredUnaudited polls until some reservation is stored by a message
// that is not audited yet, or timeout passes (then it returns anyway: the
// kill just lands elsewhere).
func waitStoredUnaudited(t testing.TB, pgURL string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer conn.Close(context.Background())
	for ctx.Err() == nil {
		var n int
		if err := conn.QueryRow(ctx, storedUnauditedSQL).Scan(&n); err == nil && n > 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("no batch seen between store and audit within %v", timeout)
}

// lastLine is the last non-empty line of a command's output (its summary).
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}
