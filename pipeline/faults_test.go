package pipeline_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/resingest/resingest/internal/e2e"
)

// TestFaults is the fault suite's harness faults: a store or the broker
// fails the way production does in the middle of a run, on a server of the
// test's own, and afterwards both stores hold the newest version of every
// reservation (from `resingest parse`), every message has exactly one
// audit row and every poison message its dead letter.
func TestFaults(t *testing.T) {
	t.Parallel()
	t.Run("dynamodb restarted empty", testDynamoRestartedEmpty)
	t.Run("broker frozen", testBrokerFrozen)
}

// faultCorpus writes, checks and produces (without keys) a corpus of
// messages with poison messages for a fault test.
func faultCorpus(t *testing.T, env *e2e.Stores, messages, poison int, seed uint64) (*e2e.Corpus, int) {
	t.Helper()
	began := time.Now()
	c := e2e.WriteCorpus(t, t.TempDir(), messages, seed, poison)
	e2e.Produce(t, env.Brokers, env.Topic, c.Files, false)
	t.Logf("setup: %d messages (%d poison) produced without keys in %v",
		len(c.Files), len(c.Poison), time.Since(began).Round(time.Millisecond))
	return c, len(c.Files)
}

// testDynamoRestartedEmpty kills the worker's DynamoDB (a child dynalite)
// mid-run and starts it again empty, as if the table had been deleted.
// The worker must acknowledge nothing it could not store, dead-letter
// nothing for it, and say that the table is missing and that
// `resingest db migrate` creates it. After `db migrate` the worker (restarted
// if it stopped) finishes the topic; a replay of the topic by a new group,
// which is how an operator refills a table recreated empty, leaves both
// stores at the newest versions and still one audit row per message.
func testDynamoRestartedEmpty(t *testing.T) {
	t.Parallel()
	const (
		messages  = 1500
		poison    = 5
		killAfter = 300 // audit rows
	)
	began := time.Now()
	dyn := e2e.StartDynalite(t)
	env := e2e.EnvOn(t, e2e.Servers{DynamoEndpoint: dyn.Endpoint()})
	c, total := faultCorpus(t, env, messages, poison, 41)
	want := c.Expected(t)
	adm := newKafkaAdmin(t, env.Brokers)

	args := append([]string{"consume", "--batch-size", "100", "--exit-when-idle", "5s"}, env.Args()...)
	w := e2e.Start(t, nil, args...)
	if n := env.WaitCount(t, "audit", killAfter, time.Minute); n < killAfter {
		t.Fatalf("only %d audit rows within a minute:\n%s", n, w.Output())
	}
	ctx := context.Background()
	dyn.Kill()
	time.Sleep(time.Second)
	if err := dyn.Start(ctx); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()

	// The worker must say what is wrong and how to fix it, in its log or
	// its exit error.
	wantMsg := []string{fmt.Sprintf("table %s does not exist", env.DynamoTable), "resingest db migrate"}
	said := func() bool {
		out := w.Output()
		for _, m := range wantMsg {
			if !strings.Contains(out, m) {
				return false
			}
		}
		return true
	}
	for !said() {
		if time.Since(killed) > time.Minute {
			t.Fatalf("within a minute of the restart the worker did not say %q:\n%s", wantMsg, w.Output())
		}
		if w.Exited() && !said() {
			t.Fatalf("the worker exited without saying %q:\n%s", wantMsg, w.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%v after the restart the worker said: %s", time.Since(killed).Round(time.Millisecond), lineWith(w.Output(), wantMsg[0]))

	// Nothing acknowledged that is not stored, nothing dead-lettered for
	// the table.
	assertCommitsAudited(t, "with the table missing", committedOffsets(t, adm, env.Group, env.Topic), auditedOffsets(t, env.PostgresURL))
	for _, d := range env.DeadLetters(t) {
		if strings.Contains(d.Reason, "dynamo") {
			t.Errorf("dead letter %d was dead-lettered for the store: %s", d.ID, d.Reason)
		}
	}
	audited := env.Count(t, "audit")
	if audited >= total {
		t.Fatalf("all %d messages were audited before the table went missing; nothing to test", total)
	}

	out, stderr, err := e2e.Run(t, time.Minute, "db", "migrate", "--pg-url", env.PostgresURL,
		"--dynamo-endpoint", env.DynamoEndpoint, "--dynamo-table", env.DynamoTable)
	if err != nil {
		t.Fatalf("resingest db migrate: %v\n%s%s", err, out, stderr)
	}
	t.Logf("db migrate with %d/%d messages audited: %s", audited, total, strings.TrimSpace(string(out)))

	if w.Exited() {
		if w.Cmd.ProcessState.ExitCode() == 0 {
			t.Fatalf("the worker stopped with status 0 although the table is missing:\n%s", w.Output())
		}
		w = e2e.Start(t, nil, args...)
	}
	if err := w.Wait(2 * time.Minute); err != nil {
		t.Fatalf("worker after db migrate: %v\n%s", err, w.Output())
	}
	t.Logf("worker finished: %s", lastLine(w.Output()))
	e2e.AssertPostgres(t, env, want)
	e2e.AssertAudit(t, env, c)
	assertAllCommitted(t, adm, env.Group, env.Topic)

	// Refill the recreated table by replaying the topic.
	replayArgs := append([]string{"consume", "--batch-size", "500", "--exit-when-idle", "3s"}, env.Args()...)
	for i := range replayArgs {
		if replayArgs[i] == "--group" {
			replayArgs[i+1] += "-replay"
		}
	}
	r := e2e.Start(t, nil, replayArgs...)
	if err := r.Wait(2 * time.Minute); err != nil {
		t.Fatalf("replay: %v\n%s", err, r.Output())
	}
	e2e.AssertStores(t, env, want)
	e2e.AssertAudit(t, env, c)
	t.Logf("%d reservations and %d messages checked; total %v", len(want), total, time.Since(began).Round(time.Millisecond))
}

// testBrokerFrozen freezes the worker's Kafka broker (a child `resingest
// dev kafka`, SIGSTOP) for 10 s mid-run and thaws it (SIGCONT). The worker
// must ride it out: nothing lost, exactly one audit row per message,
// every offset committed.
func testBrokerFrozen(t *testing.T) {
	t.Parallel()
	const (
		messages    = 1500
		poison      = 5
		freezeAfter = 300 // audit rows
		freeze      = 10 * time.Second
	)
	began := time.Now()
	broker, addr := startBroker(t)
	env := e2e.EnvOn(t, e2e.Servers{Brokers: []string{addr}})
	// A failed test may leave the broker frozen: thaw it before the
	// topic is deleted and the broker killed.
	t.Cleanup(func() { _ = broker.Signal(syscall.SIGCONT) })
	c, total := faultCorpus(t, env, messages, poison, 43)
	want := c.Expected(t)
	adm := newKafkaAdmin(t, env.Brokers)

	w := e2e.Start(t, nil, append([]string{"consume", "--batch-size", "100"}, env.Args()...)...)
	if n := env.WaitCount(t, "audit", freezeAfter, time.Minute); n < freezeAfter {
		t.Fatalf("only %d audit rows within a minute:\n%s", n, w.Output())
	}
	if err := broker.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozenAt := env.Count(t, "audit")
	time.Sleep(freeze)
	if w.Exited() {
		t.Fatalf("the worker exited while the broker was frozen:\n%s", w.Output())
	}
	if err := broker.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	thawed := time.Now()
	t.Logf("broker frozen for %v with %d/%d messages audited", freeze, frozenAt, total)
	if frozenAt >= total {
		t.Fatalf("all %d messages were audited before the freeze; nothing to test", total)
	}
	if n := env.WaitCount(t, "audit", total, 2*time.Minute); n < total {
		t.Fatalf("%d of %d messages audited two minutes after the thaw:\n%s", n, total, w.Output())
	}
	t.Logf("every message audited %v after the thaw", time.Since(thawed).Round(time.Millisecond))
	// A clean stop commits the last offsets.
	if err := w.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := w.Wait(time.Minute); err != nil {
		t.Fatalf("worker: %v\n%s", err, w.Output())
	}
	e2e.AssertStores(t, env, want)
	e2e.AssertAudit(t, env, c)
	assertAllCommitted(t, adm, env.Group, env.Topic)
	t.Logf("%d reservations and %d messages checked; total %v", len(want), total, time.Since(began).Round(time.Millisecond))
}

// startBroker runs `resingest dev kafka` on a free loopback port as a child
// process (killed when the test ends) and returns it and its address once
// it accepts connections.
func startBroker(t *testing.T) (*e2e.Process, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := e2e.Start(t, nil, "dev", "kafka", "--addr", addr)
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return p, addr
		}
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("resingest dev kafka on %s did not start: %v\n%s", addr, err, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lineWith is the first line of out that contains s.
func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
