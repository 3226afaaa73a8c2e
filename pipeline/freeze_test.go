package pipeline_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/sinks/postgres"
)

// freezeFor is how long a store stays frozen; stallTimeout is the
// worker's --stall-timeout.
const (
	freezeFor    = 20 * time.Second
	stallTimeout = 3 * time.Second
)

// TestStoreFreeze freezes a store (SIGSTOP: connections stay open and
// nothing answers) for 20 s while the real worker binary consumes, with
// --stall-timeout 3s: /readyz must answer 503 during the freeze and 200
// again after it by itself, a WARN line must name the store within
// seconds, the worker must never exit or need a restart, and once it is
// done every reservation is at its newest version in both stores with one
// audit row per message and no dead letter.
//
// Postgres is a server of the test's own (testenv.StartPostgres); S3 is a
// child `resingest dev s3` process. The shared services are never frozen.
func TestStoreFreeze(t *testing.T) {
	t.Parallel()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pg := testenv.StartPostgres(t)
		env := e2e.Env(t)
		env.PostgresURL = pg.URL()
		if _, err := postgres.MigrateURL(context.Background(), pg.URL()); err != nil {
			t.Fatalf("migrate the dedicated postgres: %v", err)
		}
		runFreeze(t, env, "postgres", nil, pg.Freeze, pg.Thaw)
	})
	t.Run("s3", func(t *testing.T) {
		t.Parallel()
		env := e2e.Env(t)
		s3 := e2e.Start(t, nil, "dev", "s3", "--addr", "127.0.0.1:0")
		addr := waitFor(t, s3, regexp.MustCompile(`s3 dev server listening"? addr=(\S+)`), 30*time.Second)
		args := []string{"--s3-endpoint", "http://" + addr, "--archive-bucket", testenv.UniqueName("freeze")}
		freeze := func() error { return s3.Signal(syscall.SIGSTOP) }
		thaw := func() error { return s3.Signal(syscall.SIGCONT) }
		t.Cleanup(func() { _ = thaw() }) // a stopped child cannot be killed cleanly otherwise
		runFreeze(t, env, "archive", args, freeze, thaw)
	})
}

// waitFor waits until p's output matches re and returns the first group.
func waitFor(t *testing.T, p *e2e.Process, re *regexp.Regexp, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.Output()); m != nil {
			return m[1]
		}
		if p.Exited() {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %q in the output within %v:\n%s", re, timeout, p.Output())
	return ""
}

// freePort returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// readyStatus is /readyz's status code, 0 when it does not answer.
func readyStatus(addr string) int {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func runFreeze(t *testing.T, env *e2e.Stores, store string, extra []string, freeze, thaw func() error) {
	began := time.Now()
	const (
		before = 200 // messages stored before the freeze
		during = 400 // produced once the store is frozen
	)
	c := e2e.WriteCorpus(t, t.TempDir(), before+during, 41, 0)
	want := c.Expected(t)
	total := len(c.Files)
	e2e.Produce(t, env.Brokers, env.Topic, c.Files[:before], true)

	metricsAddr := freeAddr(t)
	args := append([]string{"consume", "--batch-size", "50", "--stall-timeout", stallTimeout.String(),
		"--store-timeout", "2s", "--metrics-addr", metricsAddr}, env.Args()...)
	w := e2e.Start(t, nil, append(args, extra...)...)
	if n := env.WaitCount(t, "audit", before, time.Minute); n < before {
		t.Fatalf("only %d of %d audit rows within a minute:\n%s", n, before, w.Output())
	}
	if s := readyStatus(metricsAddr); s != http.StatusOK {
		t.Fatalf("/readyz before the freeze: %d, want 200", s)
	}

	if err := freeze(); err != nil {
		t.Fatalf("freeze %s: %v", store, err)
	}
	frozen := time.Now()
	logAtFreeze := len(w.Output())
	e2e.Produce(t, env.Brokers, env.Topic, c.Files[before:], true)

	// During the freeze: not ready after about the stall timeout, a WARN
	// naming the store within seconds, and the worker keeps running.
	warnLine := regexp.MustCompile(`level=WARN [^\n]*store=` + store + `\b`)
	var notReadyAt, warnAt time.Duration
	for time.Since(frozen) < freezeFor {
		if w.Exited() {
			t.Fatalf("the worker exited %v into the freeze:\n%s", time.Since(frozen).Round(time.Second), w.Output())
		}
		if notReadyAt == 0 && readyStatus(metricsAddr) == http.StatusServiceUnavailable {
			notReadyAt = time.Since(frozen)
		}
		if warnAt == 0 && warnLine.MatchString(w.Output()[logAtFreeze:]) {
			warnAt = time.Since(frozen)
		}
		time.Sleep(250 * time.Millisecond)
	}
	stalledMetric := metricValue(t, metricsAddr, fmt.Sprintf(`resingest_sink_stalled{sink=%q}`, store))
	if err := thaw(); err != nil {
		t.Fatalf("thaw %s: %v", store, err)
	}
	thawed := time.Now()
	switch {
	case notReadyAt == 0:
		t.Errorf("/readyz never answered 503 during a %v freeze of %s (stall timeout %v)", freezeFor, store, stallTimeout)
	case notReadyAt > stallTimeout+5*time.Second:
		t.Errorf("/readyz answered 503 only %v into the freeze (stall timeout %v)", notReadyAt, stallTimeout)
	}
	if warnAt == 0 || warnAt > 10*time.Second {
		t.Errorf("no WARN line naming store=%s within 10s of the freeze (first at %v)", store, warnAt)
	}
	if stalledMetric != 1 {
		t.Errorf("resingest_sink_stalled{sink=%q} = %v at the end of the freeze, want 1", store, stalledMetric)
	}

	// After: ready again by itself, everything stored.
	var readyAgain time.Duration
	for time.Since(thawed) < time.Minute {
		if readyStatus(metricsAddr) == http.StatusOK {
			readyAgain = time.Since(thawed)
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if readyAgain == 0 {
		t.Errorf("/readyz did not answer 200 within a minute of the thaw")
	}
	if n := env.WaitCount(t, "audit", total, 2*time.Minute); n < total {
		t.Fatalf("only %d of %d audit rows 2 minutes after the thaw:\n%s", n, total, w.Output())
	}
	if w.Exited() {
		t.Fatalf("the worker exited:\n%s", w.Output())
	}
	if err := w.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := w.Wait(time.Minute); err != nil {
		t.Fatalf("worker after SIGTERM: %v\n%s", err, w.Output())
	}
	warns := strings.Count(w.Output()[logAtFreeze:], "level=WARN")
	if limit := int(thawed.Sub(frozen)/time.Second) * 2; warns > limit {
		t.Errorf("%d WARN lines during a %v freeze: not rate-limited (want at most %d)", warns, thawed.Sub(frozen).Round(time.Second), limit)
	}
	t.Logf("%s frozen %v: /readyz 503 after %v, first WARN naming it after %v (%d WARN lines in all), ready again %v after the thaw",
		store, thawed.Sub(frozen).Round(time.Millisecond), notReadyAt.Round(time.Millisecond), warnAt.Round(time.Millisecond),
		warns, readyAgain.Round(time.Millisecond))
	e2e.AssertStores(t, env, want)
	e2e.AssertAudit(t, env, c)
	t.Logf("total %v", time.Since(began).Round(time.Millisecond))
}

// metricValue reads one sample (name with labels, as exposed) from the
// worker's /metrics; -1 when absent.
func metricValue(t *testing.T, addr, sample string) float64 {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Errorf("read /metrics: %v", err)
		return -1
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.WriteString(string(buf[:n]))
		if err != nil {
			break
		}
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err == nil {
				return v
			}
		}
	}
	return -1
}
