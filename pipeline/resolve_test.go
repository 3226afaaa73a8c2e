package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/postgres"
)

// Key resolution against the real Postgres and DynamoDB (dynalite).

// resolveTimeout bounds one key-resolution test.
const resolveTimeout = time.Minute

// resolvingProcessor is a worker as `resingest consume` wires it: Postgres
// (store, ledger and key resolver) and DynamoDB. pg may be a second sink
// on the same database, for a second worker.
func resolvingProcessor(t testing.TB, env *e2e.Stores, pg *postgres.Sink) *pipeline.Processor {
	t.Helper()
	parser, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	proc, err := pipeline.NewProcessor(pipeline.Config{
		Parser:   parser,
		Stores:   []pipeline.NamedSink{{Name: "postgres", Sink: pg}, {Name: "dynamo", Sink: env.Dynamo(t)}},
		Ledger:   pg,
		Resolver: pg,
		Metrics:  pipeline.NewMetrics(prometheus.NewRegistry()),
		Logger:   testLogger(t),
		Backoff:  sinks.Backoff{Initial: 10 * time.Millisecond, Max: 200 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	return proc
}

// booking is a new reservation at hotel, last modified minute minutes past
// 10:00 on 1 May, with an extra CRS id when crs is not "".
func booking(hotel, conf string, minute int, crs string) []byte {
	ids := ""
	if crs != "" {
		ids = `<HotelReservationIDs><HotelReservationID ResID_Type="16" ResID_Value="` + crs + `" ResID_Source="CRS"/></HotelReservationIDs>`
	}
	return []byte(fmt.Sprintf(`<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="book-%s-%s" TimeStamp="2026-05-01T10:%02d:30Z"><HotelReservations>
<HotelReservation CreateDateTime="2026-04-30T09:00:00Z" LastModifyDateTime="2026-05-01T10:%02d:00Z" ResStatus="Commit">
  <UniqueID Type="14" ID="%s"/>
  <RoomStays><RoomStay><TimeSpan Start="2026-06-01" End="2026-06-03"/><BasicPropertyInfo ChainCode="CH" HotelCode="%s"/></RoomStay></RoomStays>
  <ResGlobalInfo>%s</ResGlobalInfo>
</HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`, hotel, conf, minute, minute, conf, hotel, ids))
}

// modifyNoHotel changes the stay's end to June end (3..28) at minute past
// 10:00 on 1 May, without any hotel identification.
func modifyNoHotel(conf string, minute, end int) []byte {
	return []byte(fmt.Sprintf(`<OTA_HotelResModifyNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="mod-%s-%d" TimeStamp="2026-05-01T10:%02d:30Z"><HotelResModifies>
<HotelResModify CreateDateTime="2026-04-30T09:00:00Z" LastModifyDateTime="2026-05-01T10:%02d:00Z" ResStatus="Modify">
  <UniqueID Type="14" ID="%s"/>
  <RoomStays><RoomStay><TimeSpan Start="2026-06-01" End="2026-06-%02d"/></RoomStay></RoomStays>
</HotelResModify></HotelResModifies></OTA_HotelResModifyNotifRQ>`, conf, minute, minute, minute, conf, end))
}

// cancelNoHotel is a bare OTA_CancelRQ (its version is its time stamp, on
// 2 May at hour:00) with the confirmation, and a CRS id when crs is set.
func cancelNoHotel(conf string, hour int, crs string) []byte {
	ids := ""
	if crs != "" {
		ids = `<UniqueID Type="16" ID="` + crs + `"/>`
	}
	return []byte(fmt.Sprintf(`<OTA_CancelRQ xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="cxl-%s-%d" TimeStamp="2026-05-02T%02d:00:00Z" CancelType="Commit">
  <UniqueID Type="14" ID="%s"/>%s
</OTA_CancelRQ>`, conf, hour, hour, conf, ids))
}

// positions numbers the messages of every test uniquely (one partition).
var positions struct {
	sync.Mutex
	next int
}

// process runs one batch of values on proc and returns their outcomes.
func process(t testing.TB, proc *pipeline.Processor, values ...[]byte) []pipeline.Outcome {
	t.Helper()
	positions.Lock()
	first := positions.next
	positions.next += len(values)
	positions.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	out, err := proc.Process(ctx, batch(first, values...))
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	return out
}

// stored reads a reservation from both stores; it fails the test unless
// they agree on action, status and departure.
func stored(t testing.TB, env *e2e.Stores, k reservation.Key) reservation.Reservation {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	pr, _, err := env.Postgres(t).Get(ctx, k)
	if err != nil {
		t.Fatalf("postgres Get %s: %v", k, err)
	}
	dr, _, err := env.Dynamo(t).Get(ctx, k)
	if err != nil {
		t.Fatalf("dynamo Get %s: %v", k, err)
	}
	if pr.Action != dr.Action || pr.Status != dr.Status || pr.Departure != dr.Departure || pr.ChainCode != dr.ChainCode {
		t.Fatalf("%s: postgres has %s/%s/%s/%s, dynamo %s/%s/%s/%s", k, pr.Action, pr.Status, pr.Departure, pr.ChainCode,
			dr.Action, dr.Status, dr.Departure, dr.ChainCode)
	}
	return pr
}

// auditOutcome returns the outcome and error of the one audit row of a
// message id.
func auditOutcome(t testing.TB, env *e2e.Stores, msgID string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	rows, err := env.Postgres(t).ListAudit(ctx, postgres.AuditFilter{MessageID: msgID})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("message %s has %d audit rows, want 1", msgID, len(rows))
	}
	return rows[0].Outcome, rows[0].Error
}

func pendingCount(t testing.TB, pg *postgres.Sink) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	n, err := pg.CountPending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// assertNoUnkeyed checks that neither store holds a reservation without a
// hotel code.
func assertNoUnkeyed(t testing.TB, env *e2e.Stores) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	if n := e2e.PostgresUnkeyed(ctx, t, env); n != 0 {
		t.Errorf("postgres holds %d rows with an empty hotel code", n)
	}
	if n := e2e.DynamoUnkeyed(ctx, t, env); n != 0 {
		t.Errorf("dynamodb holds %d items with an empty hotel code", n)
	}
}

// TestResolveToOne: a cancel and a modification without a hotel code are
// applied to the one stored reservation with their confirmation, in both
// stores, audited resolved.
func TestResolveToOne(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	proc := resolvingProcessor(t, env, env.Postgres(t))
	if got := process(t, proc, booking("H1", "R100", 10, "")); got[0] != pipeline.OutcomeStored {
		t.Fatalf("booking: %s", got[0])
	}
	k := reservation.Key{HotelCode: "H1", Confirmation: "R100"}
	if got := process(t, proc, modifyNoHotel("R100", 20, 9)); got[0] != pipeline.OutcomeResolved {
		t.Fatalf("modification without hotel: %s, want resolved", got[0])
	}
	if r := stored(t, env, k); r.Departure != "2026-06-09" || r.Action != reservation.ActionModify || r.ChainCode != "CH" {
		t.Errorf("after the modification: %s departure %s chain %q", r.Action, r.Departure, r.ChainCode)
	}
	if got := process(t, proc, cancelNoHotel("R100", 8, "")); got[0] != pipeline.OutcomeResolved {
		t.Fatalf("cancel without hotel: %s, want resolved", got[0])
	}
	if r := stored(t, env, k); r.Action != reservation.ActionCancel {
		t.Errorf("after the cancel: %s, want cancel", r.Action)
	}
	if o, _ := auditOutcome(t, env, "cxl-R100-8"); o != "resolved" {
		t.Errorf("audit of the cancel: %s", o)
	}
	if n := pendingCount(t, env.Postgres(t)); n != 0 {
		t.Errorf("%d records held, want 0", n)
	}
	assertNoUnkeyed(t, env)
}

// TestHeldThenResolved: records that overtake their booking are held and,
// when another worker stores the booking, applied in version order: the
// one older than the booking is recorded stale, the newer modification and
// the cancel resolved; the cancel is the stored state.
func TestHeldThenResolved(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	pg := env.Postgres(t)
	first := resolvingProcessor(t, env, pg)
	for _, v := range [][]byte{cancelNoHotel("R200", 9, ""), modifyNoHotel("R200", 20, 9), modifyNoHotel("R200", 5, 4)} {
		if got := process(t, first, v); got[0] != pipeline.OutcomeHeld {
			t.Fatalf("record before its booking: %s, want held", got[0])
		}
	}
	if n := pendingCount(t, pg); n != 3 {
		t.Fatalf("%d records held, want 3", n)
	}
	if o, _ := auditOutcome(t, env, "mod-R200-20"); o != "held" {
		t.Errorf("audit before the booking: %s, want held", o)
	}
	// A second worker (its own pool) stores the booking.
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	pg2, err := postgres.New(ctx, env.PostgresURL, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer pg2.Close()
	second := resolvingProcessor(t, env, pg2)
	if got := process(t, second, booking("H2", "R200", 10, "")); got[0] != pipeline.OutcomeStored {
		t.Fatalf("booking: %s", got[0])
	}
	if n := pendingCount(t, pg); n != 0 {
		t.Errorf("%d records still held after the booking, want 0", n)
	}
	if r := stored(t, env, reservation.Key{HotelCode: "H2", Confirmation: "R200"}); r.Action != reservation.ActionCancel || r.ChainCode != "CH" {
		t.Errorf("stored state %s chain %q, want the cancel with the booking's chain", r.Action, r.ChainCode)
	}
	for id, want := range map[string]string{"mod-R200-5": "stale", "mod-R200-20": "resolved", "cxl-R200-9": "resolved"} {
		if o, _ := auditOutcome(t, env, id); o != want {
			t.Errorf("audit of %s: %s, want %s", id, o, want)
		}
	}
	assertNoUnkeyed(t, env)
}

// TestAmbiguous: a confirmation that two hotels hold is dead-lettered as
// ambiguous unless another id of the record names one of them; held
// records meet the same rule when the second booking arrives first.
func TestAmbiguous(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	pg := env.Postgres(t)
	proc := resolvingProcessor(t, env, pg)
	process(t, proc, booking("H1", "R300", 10, "CRS-A"), booking("H2", "R300", 11, "CRS-B"))

	t.Run("undecided", func(t *testing.T) {
		if got := process(t, proc, cancelNoHotel("R300", 8, "")); got[0] != pipeline.OutcomeDeadLettered {
			t.Fatalf("cancel of a confirmation two hotels hold: %s, want dead_lettered", got[0])
		}
		o, reason := auditOutcome(t, env, "cxl-R300-8")
		if o != "dead_lettered" || !strings.Contains(reason, "ambiguous") {
			t.Errorf("audit: %s %q, want dead_lettered as ambiguous", o, reason)
		}
		for _, h := range []string{"H1", "H2"} {
			if r := stored(t, env, reservation.Key{HotelCode: h, Confirmation: "R300"}); r.Action != reservation.ActionCreate {
				t.Errorf("%s/R300 changed to %s by an ambiguous cancel", h, r.Action)
			}
		}
	})
	t.Run("decided by another id", func(t *testing.T) {
		if got := process(t, proc, cancelNoHotel("R300", 9, "CRS-B")); got[0] != pipeline.OutcomeResolved {
			t.Fatalf("cancel with the CRS id of one of them: %s, want resolved", got[0])
		}
		if r := stored(t, env, reservation.Key{HotelCode: "H2", Confirmation: "R300"}); r.Action != reservation.ActionCancel {
			t.Errorf("H2/R300: %s, want cancel", r.Action)
		}
		if r := stored(t, env, reservation.Key{HotelCode: "H1", Confirmation: "R300"}); r.Action != reservation.ActionCreate {
			t.Errorf("H1/R300: %s, want create", r.Action)
		}
	})
	t.Run("held, then two bookings", func(t *testing.T) {
		if got := process(t, proc, cancelNoHotel("R301", 8, "")); got[0] != pipeline.OutcomeHeld {
			t.Fatalf("cancel before its bookings: %s, want held", got[0])
		}
		process(t, proc, booking("H1", "R301", 10, ""), booking("H2", "R301", 11, ""))
		o, reason := auditOutcome(t, env, "cxl-R301-8")
		if o != "dead_lettered" || !strings.HasPrefix(reason, pipeline.ReasonAmbiguous) {
			t.Errorf("audit: %s %q, want dead_lettered as ambiguous", o, reason)
		}
		ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
		defer cancel()
		letters, err := pg.ListDeadLetters(ctx, postgres.DeadLetterFilter{})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, d := range letters {
			if d.MessageID == "cxl-R301-8" {
				found = strings.HasPrefix(d.Reason, pipeline.ReasonAmbiguous) && strings.Contains(string(d.Message), "R301") &&
					d.ReasonClass == pipeline.ReasonAmbiguous && d.HotelCode == "" // a held record has none
			}
		}
		if !found {
			t.Errorf("no ambiguous dead letter with the message for cxl-R301-8 in %d letters", len(letters))
		}
		if n := pendingCount(t, pg); n != 0 {
			t.Errorf("%d records held, want 0", n)
		}
	})
	assertNoUnkeyed(t, env)
}

// TestPendingTTL: a record held longer than the TTL is dead-lettered as
// unresolved, once, with its message; one within the TTL stays held.
func TestPendingTTL(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	pg := env.Postgres(t)
	proc := resolvingProcessor(t, env, pg)
	if got := process(t, proc, cancelNoHotel("R400", 8, "")); got[0] != pipeline.OutcomeHeld {
		t.Fatalf("cancel without booking: %s, want held", got[0])
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	ttl := time.Hour
	if n, err := proc.SweepPending(ctx, ttl, time.Now(), 100); err != nil || n != 0 {
		t.Fatalf("sweep within the TTL: %d, %v; want 0", n, err)
	}
	if n, err := proc.SweepPending(ctx, ttl, time.Now().Add(2*ttl), 100); err != nil || n != 1 {
		t.Fatalf("sweep past the TTL: %d, %v; want 1", n, err)
	}
	if n, err := proc.SweepPending(ctx, ttl, time.Now().Add(2*ttl), 100); err != nil || n != 0 {
		t.Fatalf("second sweep: %d, %v; want 0", n, err)
	}
	o, reason := auditOutcome(t, env, "cxl-R400-8")
	if o != "dead_lettered" || !strings.HasPrefix(reason, pipeline.ReasonUnresolved) {
		t.Errorf("audit: %s %q, want dead_lettered as unresolved", o, reason)
	}
	letters, err := pg.ListDeadLetters(ctx, postgres.DeadLetterFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 1 || !strings.HasPrefix(letters[0].Reason, pipeline.ReasonUnresolved) || !strings.Contains(string(letters[0].Message), "OTA_CancelRQ") {
		t.Errorf("dead letters: %d, want the one unresolved cancel with its message", len(letters))
	} else if letters[0].ReasonClass != pipeline.ReasonUnresolved || letters[0].HotelCode != "" {
		t.Errorf("unresolved letter: class %q, hotel %q; want %q and none", letters[0].ReasonClass, letters[0].HotelCode, pipeline.ReasonUnresolved)
	}
	if n := pendingCount(t, pg); n != 0 {
		t.Errorf("%d records held after the sweep, want 0", n)
	}
	// A booking arriving now finds nothing to apply.
	process(t, proc, booking("H4", "R400", 10, ""))
	if r := stored(t, env, reservation.Key{HotelCode: "H4", Confirmation: "R400"}); r.Action != reservation.ActionCreate {
		t.Errorf("booking after the unresolved cancel: %s", r.Action)
	}
}

// TestResolveRace: two workers (their own pools) race, for each of many
// confirmations, one storing the booking and the other holding the cancel
// at the same moment. Every cancel must be applied in both stores and
// nothing left held.
func TestResolveRace(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	pgA := env.Postgres(t)
	pgB, err := postgres.New(ctx, env.PostgresURL, postgres.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer pgB.Close()
	a, b := resolvingProcessor(t, env, pgA), resolvingProcessor(t, env, pgB)
	const n = 60
	var wg sync.WaitGroup
	start := make(chan struct{})
	outcomes := make([][2]pipeline.Outcome, n)
	for i := range n {
		conf := "RACE" + strconv.Itoa(i)
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			outcomes[i][0] = process(t, a, booking("HR", conf, 10, ""))[0]
		}()
		go func() {
			defer wg.Done()
			<-start
			// Staggered so that the cancel comes before, during and after
			// the booking's write across the confirmations.
			time.Sleep(time.Duration(i) * 40 * time.Millisecond)
			outcomes[i][1] = process(t, b, cancelNoHotel(conf, 8, ""))[0]
		}()
	}
	close(start)
	wg.Wait()
	held, resolved := 0, 0
	for i := range n {
		conf := "RACE" + strconv.Itoa(i)
		if r := stored(t, env, reservation.Key{HotelCode: "HR", Confirmation: conf}); r.Action != reservation.ActionCancel {
			t.Errorf("%s: %s, want cancel (booking %s, cancel %s)", conf, r.Action, outcomes[i][0], outcomes[i][1])
		}
		switch outcomes[i][1] {
		case pipeline.OutcomeHeld:
			held++
		case pipeline.OutcomeResolved:
			resolved++
		}
		if o, _ := auditOutcome(t, env, "cxl-"+conf+"-8"); o != "resolved" {
			t.Errorf("audit of the cancel of %s: %s, want resolved", conf, o)
		}
	}
	t.Logf("%d cancels were held first, %d resolved at once", held, resolved)
	if n := pendingCount(t, pgA); n != 0 {
		t.Errorf("%d records still held, want 0", n)
	}
	assertNoUnkeyed(t, env)
}

// slowHold delays every Hold of the real Postgres resolver: the holding
// worker looked for the booking, found none, and its hold commits only
// after the booking's writer has looked for held records (the narrowest
// interleaving of TestResolveRace, made certain).
type slowHold struct {
	*postgres.Sink
	delay time.Duration
}

func (s slowHold) Hold(ctx context.Context, recs []postgres.PendingRecord) error {
	time.Sleep(s.delay)
	return s.Sink.Hold(ctx, recs)
}

// TestResolveRaceSlowHold: the cancel's worker misses the booking, the
// booking's worker misses the (not yet committed) hold; the holder's look
// after its commit must still apply the cancel.
func TestResolveRaceSlowHold(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	pg := env.Postgres(t)
	writer := resolvingProcessor(t, env, pg)
	parser, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	holder, err := pipeline.NewProcessor(pipeline.Config{
		Parser:   parser,
		Stores:   []pipeline.NamedSink{{Name: "postgres", Sink: pg}, {Name: "dynamo", Sink: env.Dynamo(t)}},
		Ledger:   pg,
		Resolver: slowHold{pg, 1500 * time.Millisecond},
		Logger:   testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan pipeline.Outcome)
	go func() { done <- process(t, holder, cancelNoHotel("R600", 8, ""))[0] }()
	time.Sleep(300 * time.Millisecond) // the holder has looked and is holding
	if got := process(t, writer, booking("H6", "R600", 10, "")); got[0] != pipeline.OutcomeStored {
		t.Fatalf("booking: %s", got[0])
	}
	if n := pendingCount(t, pg); n != 0 {
		t.Fatalf("the booking's writer saw %d held records; the hold was not slow enough to test the race", n)
	}
	if got := <-done; got != pipeline.OutcomeHeld {
		t.Errorf("cancel: %s, want held (then released by its own worker)", got)
	}
	if r := stored(t, env, reservation.Key{HotelCode: "H6", Confirmation: "R600"}); r.Action != reservation.ActionCancel {
		t.Errorf("H6/R600: %s, want cancel", r.Action)
	}
	if o, _ := auditOutcome(t, env, "cxl-R600-8"); o != "resolved" {
		t.Errorf("audit of the cancel: %s, want resolved", o)
	}
	if n := pendingCount(t, pg); n != 0 {
		t.Errorf("%d records still held, want 0", n)
	}
}

// TestUnkeyedRefused: without a resolver a record without hotel code is
// dead-lettered, and a store given one refuses it as a programming error.
func TestUnkeyedRefused(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	pg := env.Postgres(t)
	parser, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	proc, err := pipeline.NewProcessor(pipeline.Config{
		Parser: parser, Stores: []pipeline.NamedSink{{Name: "dynamo", Sink: env.Dynamo(t)}}, Ledger: pg,
		Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := process(t, proc, cancelNoHotel("R500", 8, "")); got[0] != pipeline.OutcomeDeadLettered {
		t.Errorf("without a resolver: %s, want dead_lettered", got[0])
	}
	if _, reason := auditOutcome(t, env, "cxl-R500-8"); !strings.Contains(reason, "missing hotel code") {
		t.Errorf("reason %q does not say the hotel code is missing", reason)
	}
	rec := sinks.Record{Reservation: reservation.Reservation{Confirmation: "R500", Action: reservation.ActionCancel}}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	for name, s := range map[string]pipeline.Sink{"postgres": pg, "dynamo": env.Dynamo(t)} {
		res, err := s.Write(ctx, []sinks.Record{rec})
		if err != nil || len(res) != 1 || res[0].Outcome != sinks.Failed || !errors.Is(res[0].Err, sinks.ErrUnkeyed) || sinks.IsRetryable(res[0].Err) {
			t.Errorf("%s given a record without hotel code: %v, %+v; want a permanent ErrUnkeyed refusal", name, err, res)
		}
	}
	assertNoUnkeyed(t, env)
}

// TestPendingLargeMessageBounded: a held record of a message larger than
// a dead letter's prefix, never resolved, becomes a dead letter with the
// same bounds as any other (at most DeadLetterPrefixBytes in Postgres,
// marked truncated, the message's whole size), not the whole message.
func TestPendingLargeMessageBounded(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	pg := env.Postgres(t)
	proc := resolvingProcessor(t, env, pg)
	msg := cancelNoHotel("R401", 9, "")
	pad := "<!-- " + strings.Repeat("padding ", 3*pipeline.DeadLetterPrefixBytes/8) + "-->\n"
	large := append([]byte(pad), msg...)
	if got := process(t, proc, large); got[0] != pipeline.OutcomeHeld {
		t.Fatalf("large cancel without booking: %s, want held", got[0])
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	if n, err := proc.SweepPending(ctx, time.Hour, time.Now().Add(3*time.Hour), 100); err != nil || n < 1 {
		t.Fatalf("sweep past the TTL: %d, %v; want at least 1", n, err)
	}
	letters, err := pg.ListDeadLetters(ctx, postgres.DeadLetterFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, d := range letters {
		if d.MessageID != "cxl-R401-9" {
			continue
		}
		found = true
		if len(d.Message) > pipeline.DeadLetterPrefixBytes || !d.Truncated || d.MessageBytes != int64(len(large)) {
			t.Errorf("dead letter of the large held cancel: %d bytes kept, truncated %v, size %d; want <= %d, true, %d",
				len(d.Message), d.Truncated, d.MessageBytes, pipeline.DeadLetterPrefixBytes, len(large))
		}
	}
	if !found {
		t.Fatalf("no dead letter for the large held cancel among %d", len(letters))
	}
}

// TestPendingGauges: the pending sweeper publishes how many records are
// held and the age of the oldest, and both follow the pending table as
// bookings release records.
func TestPendingGauges(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	pg := env.Postgres(t)
	parser, err := parse.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	metrics := pipeline.NewMetrics(prometheus.NewRegistry())
	proc, err := pipeline.NewProcessor(pipeline.Config{
		Parser: parser, Stores: []pipeline.NamedSink{{Name: "postgres", Sink: pg}},
		Ledger: pg, Resolver: pg, Metrics: metrics, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range [][]byte{cancelNoHotel("R700", 9, ""), cancelNoHotel("R701", 9, "")} {
		if got := process(t, proc, m); got[0] != pipeline.OutcomeHeld {
			t.Fatalf("cancel before its booking: %s, want held", got[0])
		}
	}
	time.Sleep(50 * time.Millisecond) // the oldest record's age becomes measurable
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	go proc.RunPendingSweeper(ctx, time.Hour, 20*time.Millisecond)

	waitGauges := func(records float64, wantAge bool) {
		t.Helper()
		var n, age float64
		for ctx.Err() == nil {
			n, age = gaugeValue(t, metrics.Pending), gaugeValue(t, metrics.PendingAge)
			if n == records && (age > 0) == wantAge {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("pending gauges: %v records, oldest %vs; want %v records, age > 0: %v", n, age, records, wantAge)
	}
	waitGauges(2, true)
	if age := gaugeValue(t, metrics.PendingAge); age > resolveTimeout.Seconds() {
		t.Errorf("oldest held record %vs old, want less than the test's age", age)
	}
	process(t, proc, booking("H7", "R700", 10, ""))
	waitGauges(1, true)
	process(t, proc, booking("H7", "R701", 10, ""))
	waitGauges(0, false)
}

// gaugeValue reads a gauge of the pipeline's metrics.
func gaugeValue(t testing.TB, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// TestHeldRecordOneStoreCannotHold: a modification held for its booking
// whose item would be too large for DynamoDB (450 KB of special requests)
// is dead-lettered when the booking releases it, and stored in neither
// store: both keep the booking.
func TestHeldRecordOneStoreCannotHold(t *testing.T) {
	t.Parallel()
	env := e2e.Env(t)
	pg := env.Postgres(t)
	proc := resolvingProcessor(t, env, pg)
	big := strings.Replace(string(modifyNoHotel("R900", 20, 9)), "</RoomStay>",
		`<SpecialRequests><SpecialRequest RequestCode="X"><Text>`+strings.Repeat("late arrival please. ", 22_000)+`</Text></SpecialRequest></SpecialRequests></RoomStay>`, 1)
	if got := process(t, proc, []byte(big)); got[0] != pipeline.OutcomeHeld {
		t.Fatalf("modification before its booking: %s, want held", got[0])
	}
	if got := process(t, proc, booking("H9", "R900", 10, "")); got[0] != pipeline.OutcomeStored {
		t.Fatalf("booking: %s", got[0])
	}
	if n := pendingCount(t, pg); n != 0 {
		t.Errorf("%d records still held, want 0", n)
	}
	if o, e := auditOutcome(t, env, "mod-R900-20"); o != "dead_lettered" || !strings.Contains(e, "more than DynamoDB's") {
		t.Errorf("audit of the big modification: %s (%s), want dead_lettered naming DynamoDB's limit", o, e)
	}
	if r := stored(t, env, reservation.Key{HotelCode: "H9", Confirmation: "R900"}); r.Departure != "2026-06-03" || len(r.SpecialRequests) != 0 {
		t.Errorf("stored state departs %s with %d requests, want the booking's (2026-06-03, none)", r.Departure, len(r.SpecialRequests))
	}
	assertNoUnkeyed(t, env)
}
