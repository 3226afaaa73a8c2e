package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/resingest/resingest/api"
	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/reservation"
)

// hotelElement matches the elements that identify the hotel in generated
// messages; hotelAttr the identifying attributes inside them.
var (
	hotelElement = regexp.MustCompile(`<(?:BasicPropertyInfo|HotelReference)\b[^>]*>`)
	hotelAttr    = regexp.MustCompile(`\s(?:HotelCode|ChainCode|BrandCode|HotelName|HotelCityCode)="[^"]*"`)
)

// stripHotel removes every hotel identification from a message.
func stripHotel(msg []byte) []byte {
	return hotelElement.ReplaceAllFunc(msg, func(el []byte) []byte { return hotelAttr.ReplaceAll(el, nil) })
}

// TestKafkaKeyResolution: a generated corpus whose cancels and
// modifications are stripped of every hotel identification, sent unkeyed
// (spread over partitions); half of them are sent before anything else
// (they overtake their bookings) and must be held, the rest with the
// corpus. Two `resingest consume` workers share the topic; one is
// SIGKILLed mid-run and restarted. Both stores must end equal to the
// newest version of every reservation computed from the unstripped
// messages, hold no record without a hotel code, keep nothing held, and
// the API's stores must show every cancelled reservation cancelled.
func TestKafkaKeyResolution(t *testing.T) {
	t.Parallel()
	started := time.Now()
	env := e2e.Env(t)
	c := e2e.WriteCorpus(t, t.TempDir(), 1200, 21, 0)
	want := c.Expected(t) // from the unstripped messages

	parser, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var early, rest []string
	stripped := map[string]bool{}
	cancels := 0
	for _, f := range c.Good {
		e := c.Intent[f]
		if e.Action != reservation.ActionCancel && e.Action != reservation.ActionModify {
			rest = append(rest, f)
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := stripHotel(raw)
		recs, err := parser.Parse(s)
		if err != nil || len(recs) == 0 || bytes.Equal(s, raw) {
			t.Fatalf("harness: stripped %s does not parse (%v) or was not changed", f, err)
		}
		for _, r := range recs {
			if r.HotelCode != "" || r.ChainCode != "" {
				t.Fatalf("harness: stripped %s still names hotel %q chain %q", f, r.HotelCode, r.ChainCode)
			}
		}
		if err := os.WriteFile(f, s, 0o644); err != nil {
			t.Fatal(err)
		}
		stripped[e.MessageID] = true
		if e.Action == reservation.ActionCancel {
			cancels++
		}
		if len(stripped)%2 == 1 {
			early = append(early, f)
		} else {
			rest = append(rest, f)
		}
	}
	t.Logf("%d messages, %d stripped (%d cancels), %d sent before everything else", len(c.Files), len(stripped), cancels, len(early))

	t.Logf("corpus ready (%s)", time.Since(started).Round(time.Millisecond))
	e2e.Produce(t, env.Brokers, env.Topic, early, false)
	args := append([]string{"consume", "--source", "kafka", "--batch-size", "50", "--exit-when-idle", "2m"}, env.Args()...)
	procEnv := []string{"RESINGEST_SESSION_TIMEOUT=6s"}
	victim := e2e.Start(t, procEnv, args...)
	survivor := e2e.Start(t, procEnv, args...)

	// Nothing of theirs is stored yet: every early record is held.
	if got := env.WaitCount(t, "pending_records", len(early), time.Minute); got != len(early) {
		t.Fatalf("%d records held, want the %d sent before their bookings", got, len(early))
	}
	if got := env.WaitCount(t, "audit", len(early), 30*time.Second); got != len(early) {
		t.Fatalf("%d audit rows after the early messages, want %d", got, len(early))
	}
	for _, r := range env.AuditRows(t) {
		if r.Outcome != "held" {
			t.Errorf("early message %s: audit %s, want held", r.MessageID, r.Outcome)
		}
	}

	t.Logf("%d records held (%s)", len(early), time.Since(started).Round(time.Millisecond))
	e2e.Produce(t, env.Brokers, env.Topic, rest, false)
	// Kill one worker while the bookings are being stored, then restart it.
	deadline := time.Now().Add(time.Minute)
	for env.Count(t, "audit") < len(early)+300 {
		if time.Now().After(deadline) {
			t.Fatal("the workers stored fewer than 300 messages within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	victim.Kill()
	audited := env.Count(t, "audit")
	if audited >= len(c.Files) {
		t.Fatalf("all %d messages were audited before the kill; the test needs a larger corpus", audited)
	}
	t.Logf("killed a worker after %d audit rows (%s)", audited, time.Since(started).Round(time.Millisecond))
	restarted := e2e.Start(t, procEnv, args...)

	if got := env.WaitCount(t, "audit", len(c.Files), 90*time.Second); got != len(c.Files) {
		t.Fatalf("the workers stopped at %d audit rows of %d", got, len(c.Files))
	}
	t.Logf("every message audited (%s)", time.Since(started).Round(time.Millisecond))
	for _, p := range []*e2e.Process{survivor, restarted} {
		if err := p.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []*e2e.Process{survivor, restarted} {
		if err := p.Wait(time.Minute); err != nil {
			t.Errorf("worker after SIGTERM: %v", err)
		}
	}
	if n := env.Count(t, "pending_records"); n != 0 {
		t.Errorf("%d records still held after every booking was stored", n)
	}
	t.Logf("workers stopped (%s)", time.Since(started).Round(time.Millisecond))
	e2e.AssertStores(t, env, want)
	rows := e2e.AssertAudit(t, env, c)
	outcomes := map[string]int{}
	for _, r := range rows {
		if stripped[r.MessageID] {
			outcomes[r.Outcome]++
		}
	}
	if outcomes["resolved"] == 0 || outcomes["held"] != 0 || outcomes["dead_lettered"] != 0 {
		t.Errorf("outcomes of the stripped messages: %v; want them resolved (or stale/duplicate), none held or dead-lettered", outcomes)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if n := e2e.PostgresUnkeyed(ctx, t, env); n != 0 {
		t.Errorf("postgres holds %d rows with an empty hotel code", n)
	}
	if n := e2e.DynamoUnkeyed(ctx, t, env); n != 0 {
		t.Errorf("dynamodb holds %d items with an empty hotel code", n)
	}
	// What the API serves.
	stores := map[string]api.Store{
		"postgres": api.NewPostgresStore(env.Postgres(t)),
		"dynamo":   api.NewDynamoStore(env.Dynamo(t)),
	}
	cancelled := 0
	for k, r := range want {
		if r.Action != reservation.ActionCancel {
			continue
		}
		cancelled++
		for name, s := range stores {
			got, err := s.Get(ctx, k)
			if err != nil {
				t.Errorf("api %s store: Get %s: %v", name, k, err)
				continue
			}
			if got.Reservation.Action != reservation.ActionCancel || got.Reservation.Status != r.Status {
				t.Errorf("api %s store: %s is %s/%s, want %s/%s", name, k, got.Reservation.Action, got.Reservation.Status, r.Action, r.Status)
			}
		}
	}
	t.Logf("stripped messages' outcomes %v; %d cancelled reservations served cancelled by both API stores; %s",
		outcomes, cancelled, time.Since(started).Round(time.Millisecond))
}
