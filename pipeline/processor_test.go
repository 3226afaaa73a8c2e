package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/postgres"
)

// These tests drive the Processor with fake sinks and a fake ledger: they
// inject faults the real stores cannot be made to produce on demand
// (a record refused for good, N transient failures of chosen records).

// errBoom is a permanent sink error.
var errBoom = errors.New("boom")

// fakeSink is a version-guarded in-memory store with injected faults.
type fakeSink struct {
	mu sync.Mutex
	// transient[conf] is how many more writes of that confirmation fail
	// with a retryable error.
	transient map[string]int
	// refuse lists confirmations refused for good (a permanent error).
	refuse map[string]bool
	// batchErr, while batchFails > 0, fails whole Write calls (no
	// results); -1 fails every call.
	batchErr   error
	batchFails int
	// archive reports a key in each result, like the archive sink.
	archive bool
	// short drops the last result (a broken sink).
	short bool

	stored map[reservation.Key]reservation.Version
	calls  [][]string // confirmations of each Write call
	keys   map[reservation.Key]string
}

func newFakeSink() *fakeSink {
	return &fakeSink{
		transient: map[string]int{}, refuse: map[string]bool{},
		stored: map[reservation.Key]reservation.Version{}, keys: map[reservation.Key]string{},
	}
}

func (s *fakeSink) Write(ctx context.Context, recs []sinks.Record) ([]sinks.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	confs := make([]string, len(recs))
	for i, r := range recs {
		confs[i] = r.Reservation.Confirmation
	}
	s.calls = append(s.calls, confs)
	if s.batchFails != 0 {
		if s.batchFails > 0 {
			s.batchFails--
		}
		return nil, s.batchErr
	}
	res := make([]sinks.Result, len(recs))
	for i := range recs {
		r := &recs[i]
		conf := r.Reservation.Confirmation
		switch {
		case s.refuse[conf]:
			res[i] = sinks.Result{Outcome: sinks.Failed, Err: fmt.Errorf("record %s: %w", conf, errBoom)}
			continue
		case s.transient[conf] > 0:
			s.transient[conf]--
			res[i] = sinks.Result{Outcome: sinks.Failed, Err: sinks.Retryable(errors.New("throttled"))}
			continue
		}
		key := "" // the archive reports its key in the result
		if s.archive {
			key = "archive/" + conf
		}
		if s.short && i == len(recs)-1 {
			return res[:i], nil
		}
		k := r.Reservation.Key()
		old, ok := s.stored[k]
		switch {
		case !ok || r.Version.Compare(old) > 0:
			s.stored[k] = r.Version
			s.keys[k] = r.ArchiveKey
			res[i] = sinks.Result{Outcome: sinks.Stored, Key: key}
		case r.Version.Compare(old) == 0:
			res[i] = sinks.Result{Outcome: sinks.Duplicate, Key: key}
		default:
			res[i] = sinks.Result{Outcome: sinks.Stale, Key: key}
		}
	}
	return res, nil
}

// callsSnapshot returns the confirmations of each Write call so far.
func (s *fakeSink) callsSnapshot() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// fakeLedger keeps audit rows and dead letters in memory, once per source
// position like the Postgres ledger, and can fail its first writes.
type fakeLedger struct {
	mu        sync.Mutex
	failAudit int // how many more WriteAudit calls fail
	auditErr  error
	audit     map[string]postgres.AuditRow
	letters   map[string]postgres.DeadLetter
}

func newFakeLedger() *fakeLedger {
	return &fakeLedger{audit: map[string]postgres.AuditRow{}, letters: map[string]postgres.DeadLetter{}}
}

func ledgerKey(source, partition, position string) string {
	return source + "|" + partition + "|" + position
}

func (l *fakeLedger) WriteAudit(_ context.Context, rows []postgres.AuditRow) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failAudit > 0 {
		l.failAudit--
		return l.auditErr
	}
	for _, r := range rows {
		k := ledgerKey(r.Source, r.Partition, r.Position)
		if _, ok := l.audit[k]; !ok {
			l.audit[k] = r
		}
	}
	return nil
}

func (l *fakeLedger) WriteDeadLetters(_ context.Context, letters []postgres.DeadLetter) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range letters {
		k := ledgerKey(d.Source, d.Partition, d.Position)
		if _, ok := l.letters[k]; !ok {
			l.letters[k] = d
		}
	}
	return nil
}

func (l *fakeLedger) auditCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.audit)
}

// unitMessage is a message with one reservation per confirmation, all at
// hotel H00001, modified minute minutes past 10:00. The first carries a
// full test card number.
func unitMessage(minute int, confs ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="m-%s-%d" TimeStamp="2026-05-01T12:%02d:00Z"><HotelReservations>`,
		strings.Join(confs, "-"), minute, minute)
	for _, conf := range confs {
		fmt.Fprintf(&b, `<HotelReservation CreateDateTime="2026-04-30T09:00:00Z" LastModifyDateTime="2026-05-01T10:%02d:00Z" ResStatus="Commit">
  <UniqueID Type="14" ID="%s"/>
  <RoomStays><RoomStay><TimeSpan Start="2026-06-01" End="2026-06-03"/><BasicPropertyInfo HotelCode="H00001"/></RoomStay></RoomStays>
  <ResGlobalInfo><Guarantee><GuaranteesAccepted><GuaranteeAccepted>
    <PaymentCard CardCode="VI" CardNumber="4111111111111111" SeriesCode="123" ExpireDate="1228"/>
  </GuaranteeAccepted></GuaranteesAccepted></Guarantee></ResGlobalInfo>
</HotelReservation>`, minute, conf)
	}
	b.WriteString(`</HotelReservations></OTA_HotelResNotifRQ>`)
	return []byte(b.String())
}

// batch makes Kafka-like messages of values at positions first, first+1, ...
func batch(first int, values ...[]byte) []pipeline.Message {
	msgs := make([]pipeline.Message, len(values))
	for i, v := range values {
		msgs[i] = pipeline.Message{Value: v, Source: "kafka", Partition: "t/0", Position: strconv.Itoa(first + i), ReceivedAt: time.Now()}
	}
	return msgs
}

// unitProcessor wires a Processor with stores named postgres and dynamo,
// fast retries and private metrics.
func unitProcessor(t testing.TB, ledger pipeline.Ledger, archive *fakeSink, stores ...*fakeSink) (*pipeline.Processor, *pipeline.Metrics) {
	t.Helper()
	parser, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"postgres", "dynamo"}
	cfg := pipeline.Config{
		Parser:  parser,
		Ledger:  ledger,
		Metrics: pipeline.NewMetrics(prometheus.NewRegistry()),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Backoff: sinks.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond},
	}
	for i, s := range stores {
		cfg.Stores = append(cfg.Stores, pipeline.NamedSink{Name: names[i], Sink: s})
	}
	if archive != nil {
		cfg.Archive = &pipeline.NamedSink{Name: "archive", Sink: archive}
	}
	proc, err := pipeline.NewProcessor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return proc, cfg.Metrics
}

func unitContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestProcessorRetriesOnlyFailedRecords(t *testing.T) {
	t.Parallel()
	pg, dyn, ledger := newFakeSink(), newFakeSink(), newFakeLedger()
	dyn.transient["1002"], dyn.transient["1004"] = 3, 1
	proc, metrics := unitProcessor(t, ledger, nil, pg, dyn)

	msgs := batch(0, unitMessage(1, "1001"), unitMessage(1, "1002"), unitMessage(1, "1003"), unitMessage(1, "1004"))
	outcomes, err := proc.Process(unitContext(t), msgs)
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	want := []pipeline.Outcome{pipeline.OutcomeStored, pipeline.OutcomeStored, pipeline.OutcomeStored, pipeline.OutcomeStored}
	if !slices.Equal(outcomes, want) {
		t.Errorf("outcomes %v, want %v", outcomes, want)
	}
	wantCalls := [][]string{{"1001", "1002", "1003", "1004"}, {"1002", "1004"}, {"1002"}, {"1002"}}
	if got := dyn.callsSnapshot(); !slices.EqualFunc(got, wantCalls, slices.Equal) {
		t.Errorf("dynamo writes %v, want %v (only failed records retried)", got, wantCalls)
	}
	if got := pg.callsSnapshot(); len(got) != 1 {
		t.Errorf("postgres writes %v, want one (its records never failed)", got)
	}
	if len(dyn.stored) != 4 || len(pg.stored) != 4 {
		t.Errorf("stored %d in dynamo and %d in postgres, want 4 each", len(dyn.stored), len(pg.stored))
	}
	if got := counterValue(t, metrics.SinkRetries.WithLabelValues("dynamo", "transient")); got != 4 {
		t.Errorf("retries metric %v, want 4 record retries (2, then 1, then 1)", got)
	}
	if ledger.auditCount() != 4 || len(ledger.letters) != 0 {
		t.Errorf("ledger: %d audit rows, %d dead letters; want 4 and 0", ledger.auditCount(), len(ledger.letters))
	}
}

func TestProcessorPermanentRecordFailure(t *testing.T) {
	t.Parallel()
	pg, dyn, ledger := newFakeSink(), newFakeSink(), newFakeLedger()
	dyn.refuse["2002"] = true
	proc, metrics := unitProcessor(t, ledger, nil, pg, dyn)

	msgs := batch(10, unitMessage(1, "2001"), unitMessage(1, "2002"), unitMessage(1, "2003"))
	outcomes, err := proc.Process(unitContext(t), msgs)
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	want := []pipeline.Outcome{pipeline.OutcomeStored, pipeline.OutcomeDeadLettered, pipeline.OutcomeStored}
	if !slices.Equal(outcomes, want) {
		t.Errorf("outcomes %v, want %v", outcomes, want)
	}
	if got := dyn.callsSnapshot(); len(got) != 1 {
		t.Errorf("dynamo writes %v: a permanent failure must not be retried", got)
	}
	d, ok := ledger.letters[ledgerKey("kafka", "t/0", "11")]
	switch {
	case !ok || len(ledger.letters) != 1:
		t.Fatalf("dead letters %v, want one at position 11", ledger.letters)
	case !strings.Contains(d.Reason, "dynamo") || !strings.Contains(d.Reason, errBoom.Error()):
		t.Errorf("dead letter reason %q: want the sink's name and its error", d.Reason)
	case strings.Contains(string(d.Message), "4111111111111111") || strings.Contains(string(d.Message), `"123"`):
		t.Errorf("dead letter is not redacted:\n%s", d.Message)
	case d.MessageID != "m-2002-1":
		t.Errorf("dead letter message id %q, want m-2002-1", d.MessageID)
	case d.ReasonClass != "dynamo refused" || d.HotelCode != "H00001":
		t.Errorf("dead letter class %q, hotel %q; want the metric's class and the record's hotel", d.ReasonClass, d.HotelCode)
	}
	a := ledger.audit[ledgerKey("kafka", "t/0", "11")]
	if a.Outcome != string(pipeline.OutcomeDeadLettered) || a.Error != d.Reason {
		t.Errorf("audit row of the refused message: outcome %q error %q", a.Outcome, a.Error)
	}
	if ledger.auditCount() != 3 {
		t.Errorf("%d audit rows, want 3", ledger.auditCount())
	}
	if got := counterValue(t, metrics.DeadLetters.WithLabelValues("dynamo refused")); got != 1 {
		t.Errorf("dead-letter metric {reason=dynamo refused} = %v, want 1", got)
	}
}

// TestDeadLetterHotelAndClass: a dead letter carries its reason's class
// (the metric's label) and the hotel its message names: a parsed
// record's hotel code before any HotelCode attribute earlier in the raw
// message, that attribute when nothing parsed.
func TestDeadLetterHotelAndClass(t *testing.T) {
	t.Parallel()
	pg, dyn, ledger := newFakeSink(), newFakeSink(), newFakeLedger()
	dyn.refuse["3002"] = true
	proc, _ := unitProcessor(t, ledger, nil, pg, dyn)
	decoy := func(msg []byte) []byte {
		return []byte(strings.Replace(string(msg), "<OTA_HotelResNotifRQ ", `<OTA_HotelResNotifRQ HotelCode="DECOY" `, 1))
	}
	msgs := batch(20,
		decoy(unitMessage(1, "3002")), // refused by dynamo: the record's hotel
		[]byte(`<OTA_HotelAvailRQ xmlns="http://www.opentravel.org/OTA/2003/05" HotelCode="AV1"/>`), // not parsed: the attribute
		[]byte(`<OTA_HotelResNotifRQ><HotelReservations><broken`),                                   // no hotel anywhere
	)
	if _, err := proc.Process(unitContext(t), msgs); err != nil {
		t.Fatalf("Process: %v", err)
	}
	want := map[string][2]string{ // position: class, hotel
		"20": {"dynamo refused", "H00001"},
		"21": {parse.ErrUnknownMessage.Error(), "AV1"},
		"22": {parse.ErrTruncated.Error(), ""},
	}
	for pos, w := range want {
		d, ok := ledger.letters[ledgerKey("kafka", "t/0", pos)]
		if !ok {
			t.Errorf("no dead letter at position %s", pos)
			continue
		}
		if d.ReasonClass != w[0] || d.HotelCode != w[1] {
			t.Errorf("letter at %s: class %q, hotel %q; want %q, %q (reason %q)", pos, d.ReasonClass, d.HotelCode, w[0], w[1], d.Reason)
		}
	}
}

func TestProcessorBatchErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		err     error
		fails   int
		wantErr bool
	}{
		{"permanent", errBoom, 1, true},
		{"transient then fine", sinks.Retryable(errors.New("connection reset")), 2, false},
		{"unknown error is permanent", errors.New("mystery"), 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pg, dyn, ledger := newFakeSink(), newFakeSink(), newFakeLedger()
			pg.batchErr, pg.batchFails = tc.err, tc.fails
			proc, _ := unitProcessor(t, ledger, nil, pg, dyn)
			outcomes, err := proc.Process(unitContext(t), batch(0, unitMessage(1, "3001"), unitMessage(1, "3002")))
			if tc.wantErr {
				if err == nil || !errors.Is(err, tc.err) {
					t.Fatalf("Process: %v, want an error wrapping %v", err, tc.err)
				}
				if outcomes != nil || ledger.auditCount() != 0 || len(ledger.letters) != 0 {
					t.Errorf("a batch not acknowledged got outcomes %v, %d audit rows, %d dead letters", outcomes, ledger.auditCount(), len(ledger.letters))
				}
				return
			}
			if err != nil {
				t.Fatalf("Process: %v", err)
			}
			if len(pg.stored) != 2 || ledger.auditCount() != 2 {
				t.Errorf("stored %d, audited %d; want 2 and 2", len(pg.stored), ledger.auditCount())
			}
			if got := pg.callsSnapshot(); len(got) != tc.fails+1 {
				t.Errorf("postgres writes %v, want %d", got, tc.fails+1)
			}
		})
	}
}

func TestProcessorCancelledDuringRetries(t *testing.T) {
	t.Parallel()
	pg, dyn, ledger := newFakeSink(), newFakeSink(), newFakeLedger()
	dyn.transient["4001"] = 1 << 30 // never recovers
	proc, _ := unitProcessor(t, ledger, nil, pg, dyn)
	ctx, cancel := context.WithCancel(unitContext(t))
	go func() {
		for len(dyn.callsSnapshot()) < 3 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	outcomes, err := proc.Process(ctx, batch(0, unitMessage(1, "4001"), unitMessage(1, "4002")))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Process: %v, want an error wrapping context.Canceled", err)
	}
	if outcomes != nil || ledger.auditCount() != 0 {
		t.Errorf("cancelled batch got outcomes %v and %d audit rows", outcomes, ledger.auditCount())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Process took %s to notice the cancellation", d)
	}
}

func TestProcessorMessageWithTwoReservations(t *testing.T) {
	t.Parallel()
	t.Run("both stored", func(t *testing.T) {
		t.Parallel()
		pg, dyn, ledger := newFakeSink(), newFakeSink(), newFakeLedger()
		proc, _ := unitProcessor(t, ledger, nil, pg, dyn)
		outcomes, err := proc.Process(unitContext(t), batch(0, unitMessage(1, "5001", "5002"), unitMessage(1, "5003")))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(outcomes, []pipeline.Outcome{pipeline.OutcomeStored, pipeline.OutcomeStored}) {
			t.Errorf("outcomes %v: want one per message", outcomes)
		}
		if got := pg.callsSnapshot(); len(got) != 1 || !slices.Equal(got[0], []string{"5001", "5002", "5003"}) {
			t.Errorf("postgres writes %v, want both reservations of the first message, then the second's", got)
		}
		if ledger.auditCount() != 2 {
			t.Errorf("%d audit rows, want one per message: 2", ledger.auditCount())
		}
	})
	t.Run("one refused", func(t *testing.T) {
		t.Parallel()
		pg, dyn, ledger := newFakeSink(), newFakeSink(), newFakeLedger()
		pg.refuse["5002"] = true
		proc, _ := unitProcessor(t, ledger, nil, pg, dyn)
		outcomes, err := proc.Process(unitContext(t), batch(0, unitMessage(1, "5001", "5002"), unitMessage(1, "5003")))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(outcomes, []pipeline.Outcome{pipeline.OutcomeDeadLettered, pipeline.OutcomeStored}) {
			t.Errorf("outcomes %v: a message with a refused reservation is dead-lettered as a whole", outcomes)
		}
		if len(ledger.letters) != 1 || !strings.Contains(ledger.letters[ledgerKey("kafka", "t/0", "0")].Reason, "postgres") {
			t.Errorf("dead letters %v, want the first message's, naming postgres", ledger.letters)
		}
	})
}

// TestProcessorOutcomeSummary: a message's outcome is the best over its
// records and sinks: stored if any sink stored it (one sink may already
// hold it after a partial failure), duplicate on redelivery, stale when a
// newer version is stored.
func TestProcessorOutcomeSummary(t *testing.T) {
	t.Parallel()
	pg, dyn, ledger := newFakeSink(), newFakeSink(), newFakeLedger()
	proc, metrics := unitProcessor(t, ledger, nil, pg, dyn)
	ctx := unitContext(t)

	first := batch(0, unitMessage(5, "6001"), unitMessage(5, "6002"))
	if _, err := proc.Process(ctx, first); err != nil {
		t.Fatal(err)
	}
	// Only postgres holds 6003 (dynamo failed it, say, and the worker died).
	partial := batch(2, unitMessage(5, "6003"))
	if _, err := pg.Write(ctx, []sinks.Record{recordOf(t, partial[0])}); err != nil {
		t.Fatal(err)
	}

	second := []pipeline.Message{
		first[0],                            // redelivered: same position
		batch(3, unitMessage(1, "6002"))[0], // an older version of 6002
		partial[0],                          // redelivered, stored by one sink only
		batch(4, unitMessage(1, "6004"))[0], // new
		batch(5, []byte("not xml at all"))[0],
	}
	outcomes, err := proc.Process(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	want := []pipeline.Outcome{pipeline.OutcomeDuplicate, pipeline.OutcomeStale, pipeline.OutcomeStored, pipeline.OutcomeStored, pipeline.OutcomeDeadLettered}
	if !slices.Equal(outcomes, want) {
		t.Errorf("outcomes %v, want %v", outcomes, want)
	}
	for i, m := range second {
		a, ok := ledger.audit[ledgerKey(m.Source, m.Partition, m.Position)]
		if !ok {
			t.Errorf("message %d has no audit row", i)
			continue
		}
		if i == 0 {
			if a.Outcome != string(pipeline.OutcomeStored) {
				t.Errorf("the redelivered message's audit row was replaced: %q", a.Outcome)
			}
			continue
		}
		if a.Outcome != string(want[i]) {
			t.Errorf("message %d: audit outcome %q, want %q", i, a.Outcome, want[i])
		}
	}
	for _, o := range []pipeline.Outcome{pipeline.OutcomeStored, pipeline.OutcomeStale, pipeline.OutcomeDuplicate, pipeline.OutcomeDeadLettered} {
		n := 0
		for _, w := range append(want, pipeline.OutcomeStored, pipeline.OutcomeStored) {
			if w == o {
				n++
			}
		}
		if got := counterValue(t, metrics.Outcomes.WithLabelValues(string(o))); int(got) != n {
			t.Errorf("metric {outcome=%s} = %v, want %d", o, got, n)
		}
	}
}

// recordOf parses a one-reservation message into the record the
// Processor would write for it.
func recordOf(t testing.TB, m pipeline.Message) sinks.Record {
	t.Helper()
	parser, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(m.Value)
	if err != nil || len(res) != 1 {
		t.Fatalf("parse: %v (%d records)", err, len(res))
	}
	v, err := reservation.VersionOf(&res[0], m.Position)
	if err != nil {
		t.Fatal(err)
	}
	return sinks.Record{Reservation: res[0], Version: v}
}

// TestProcessorArchiveKeyReachesStores: the archive runs first and its key
// is on the records every store receives (run with -race: both stores get
// the records at once) and on the lineage rows of the audit trail.
func TestProcessorArchiveKeyReachesStores(t *testing.T) {
	t.Parallel()
	archive, pg, dyn, ledger := newFakeSink(), newFakeSink(), newFakeSink(), newFakeLedger()
	archive.archive = true
	proc, _ := unitProcessor(t, ledger, archive, pg, dyn)
	var values [][]byte
	for i := range 50 {
		values = append(values, unitMessage(1, strconv.Itoa(7000+i)))
	}
	if _, err := proc.Process(unitContext(t), batch(0, values...)); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*fakeSink{pg, dyn} {
		if len(s.keys) != 50 {
			t.Fatalf("%d records stored, want 50", len(s.keys))
		}
		for k, key := range s.keys {
			if key != "archive/"+k.Confirmation {
				t.Errorf("%s stored with archive key %q", k, key)
			}
		}
	}
	lineage := 0
	for _, row := range ledger.audit {
		for _, r := range row.Records {
			lineage++
			if r.ArchiveKey != "archive/"+r.Confirmation {
				t.Errorf("lineage of %s names archive key %q", r.Confirmation, r.ArchiveKey)
			}
		}
	}
	if lineage != 50 {
		t.Errorf("%d lineage rows, want 50", lineage)
	}
}

// TestProcessorAuditRetried: a transient audit failure is retried; a
// permanent one fails the batch (not acknowledged).
func TestProcessorAuditRetried(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"transient", sinks.Retryable(errors.New("connection reset")), false},
		{"permanent", errBoom, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pg, ledger := newFakeSink(), newFakeLedger()
			ledger.failAudit, ledger.auditErr = 2, tc.err
			proc, _ := unitProcessor(t, ledger, nil, pg)
			_, err := proc.Process(unitContext(t), batch(0, unitMessage(1, "8001")))
			if tc.wantErr != (err != nil) {
				t.Fatalf("Process: %v, want error: %v", err, tc.wantErr)
			}
			if !tc.wantErr && ledger.auditCount() != 1 {
				t.Errorf("%d audit rows after retries, want 1", ledger.auditCount())
			}
		})
	}
}

// TestProcessorShortResults: a sink that returns fewer results than
// records fails the batch instead of crashing the worker.
func TestProcessorShortResults(t *testing.T) {
	t.Parallel()
	pg, ledger := newFakeSink(), newFakeLedger()
	pg.short = true
	proc, _ := unitProcessor(t, ledger, nil, pg)
	if _, err := proc.Process(unitContext(t), batch(0, unitMessage(1, "9001"), unitMessage(1, "9002"))); err == nil {
		t.Fatal("Process acknowledged a batch a sink returned too few results for")
	}
	if ledger.auditCount() != 0 {
		t.Errorf("%d audit rows for an unacknowledged batch", ledger.auditCount())
	}
}

// TestProcessorArchiveRefuses: a message the archive refuses for good is
// dead-lettered with the archive's name, counted under its own reason
// class.
func TestProcessorArchiveRefuses(t *testing.T) {
	t.Parallel()
	archive, pg, ledger := newFakeSink(), newFakeSink(), newFakeLedger()
	archive.refuse["9101"] = true
	proc, metrics := unitProcessor(t, ledger, archive, pg)
	outcomes, err := proc.Process(unitContext(t), batch(0, unitMessage(1, "9101"), unitMessage(1, "9102")))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(outcomes, []pipeline.Outcome{pipeline.OutcomeDeadLettered, pipeline.OutcomeStored}) {
		t.Errorf("outcomes %v", outcomes)
	}
	if d := ledger.letters[ledgerKey("kafka", "t/0", "0")]; !strings.Contains(d.Reason, "archive") {
		t.Errorf("dead letter reason %q does not name the archive", d.Reason)
	}
	if got := counterValue(t, metrics.DeadLetters.WithLabelValues("archive refused")); got != 1 {
		t.Errorf("dead-letter metric {reason=archive refused} = %v, want 1", got)
	}
	// The refused message is kept out of the stores (a replay applies it
	// whole); the other one reaches them.
	if _, ok := pg.stored[reservation.Key{HotelCode: "H00001", Confirmation: "9101"}]; ok || len(pg.stored) != 1 {
		t.Errorf("stores got %v, want only the archived message", pg.stored)
	}
}

// failingSealer fails to seal: a fault (no randomness, a lost key) that
// cannot be caused with the real keyring.
type failingSealer struct{}

var errSealFault = errors.New("seal fault")

func (failingSealer) SealGuests([]reservation.Guest) ([]reservation.Guest, []pii.GuestIndex, error) {
	return nil, nil, errSealFault
}
func (failingSealer) SealBlob(string, []byte) ([]byte, error) { return nil, errSealFault }
func (failingSealer) OpenBlob(context.Context, string, []byte) ([]byte, error) {
	return nil, errSealFault
}

// TestProcessorSealFailureFailsTheBatch: a message whose guests cannot be
// sealed is not at fault: the batch fails (not acknowledged) and nothing
// is dead-lettered, audited or written.
func TestProcessorSealFailureFailsTheBatch(t *testing.T) {
	t.Parallel()
	parser, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ledger, store := newFakeLedger(), newFakeSink()
	proc, err := pipeline.NewProcessor(pipeline.Config{
		Parser: parser, Ledger: ledger, Sealer: failingSealer{},
		Stores: []pipeline.NamedSink{{Name: "postgres", Sink: store}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = proc.Process(unitContext(t), batch(1, unitMessage(1, "A"), unitMessage(2, "B")))
	if !errors.Is(err, errSealFault) {
		t.Fatalf("Process = %v; want the seal fault", err)
	}
	if n := ledger.auditCount(); n != 0 || len(ledger.letters) != 0 {
		t.Fatalf("%d audit rows and %d dead letters after a seal fault; want none", n, len(ledger.letters))
	}
	if calls := store.callsSnapshot(); len(calls) != 0 {
		t.Fatalf("the store was written %d times", len(calls))
	}
}
