package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/postgres"
)

// replayPAN is the card number of replayMessage; only its last four digits
// may survive in a dead letter.
const replayPAN = "4111111111111111"

// replayMessage is an OTA 2003/05 reservation message whose root element is
// root: OTA_HotelResNotifRQ is known to ota2003, OTA_HotelResSyncRQ only to
// the mapping of replayMapping, OTA_ReadRQ to neither.
func replayMessage(root, hotel, conf string) []byte {
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<%[1]s xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="echo-%[3]s" TimeStamp="2026-05-01T10:00:00Z" Version="1.0">
  <HotelReservations>
    <HotelReservation CreateDateTime="2026-04-30T09:00:00Z" ResStatus="Commit">
      <UniqueID Type="14" ID="%[3]s"/>
      <RoomStays>
        <RoomStay>
          <RoomTypes><RoomType RoomTypeCode="KING"/></RoomTypes>
          <RatePlans><RatePlan RatePlanCode="BAR"/></RatePlans>
          <GuestCounts><GuestCount AgeQualifyingCode="10" Count="2"/></GuestCounts>
          <TimeSpan Start="2026-06-01" End="2026-06-03"/>
          <BasicPropertyInfo HotelCode="%[2]s" ChainCode="RC"/>
        </RoomStay>
      </RoomStays>
      <ResGlobalInfo>
        <Guarantee><GuaranteesAccepted><GuaranteeAccepted>
          <PaymentCard CardCode="VI" CardNumber="%[4]s" SeriesCode="123" ExpireDate="1228"/>
        </GuaranteeAccepted></GuaranteesAccepted></Guarantee>
        <Total AmountAfterTax="300.00" CurrencyCode="USD"/>
      </ResGlobalInfo>
    </HotelReservation>
  </HotelReservations>
</%[1]s>`, root, hotel, conf, replayPAN)
}

// replayMapping writes ota2003.yaml with OTA_HotelResSyncRQ added to its
// roots: the "fixed mapping" of the tests.
func replayMapping(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "parse", "mappings", "ota2003.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const last = "    - OTA_CancelRS\n"
	if !bytes.Contains(src, []byte(last)) {
		t.Fatalf("ota2003.yaml no longer lists %q under match.roots; update the test", strings.TrimSpace(last))
	}
	out := bytes.Replace(src, []byte(last), []byte(last+"    - OTA_HotelResSyncRQ\n"), 1)
	out = bytes.Replace(out, []byte("name: ota2003\n"), []byte("name: ota2003-sync\n"), 1)
	path := filepath.Join(t.TempDir(), "ota2003-sync.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// replayPostgres returns a sink on a fresh, migrated database.
func replayPostgres(t *testing.T, ctx context.Context) *postgres.Sink {
	t.Helper()
	pg, err := postgres.New(ctx, testenv.PostgresSchema(t), postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	if _, err := pg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return pg
}

// replayProcessor writes to pg only, parsing with mapping.
func replayProcessor(t *testing.T, pg *postgres.Sink, mapping string) *Processor {
	t.Helper()
	parser, err := parse.New(parse.Options{Mapping: mapping})
	if err != nil {
		t.Fatal(err)
	}
	proc, err := NewProcessor(Config{Parser: parser, Stores: []NamedSink{{Name: "postgres", Sink: pg}}, Ledger: pg})
	if err != nil {
		t.Fatal(err)
	}
	return proc
}

func replayContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// replayIngest processes values as messages of source, partition reservations/0, at
// positions 1, 2, ... and checks their outcomes.
func replayIngest(t *testing.T, ctx context.Context, proc *Processor, source string, want []Outcome, values ...[]byte) {
	t.Helper()
	msgs := make([]Message, len(values))
	for i, v := range values {
		msgs[i] = Message{Value: v, Source: source, Partition: "reservations/0", Position: strconv.Itoa(i + 1), ReceivedAt: time.Now()}
	}
	got, err := proc.Process(ctx, msgs)
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ingest outcomes %v, want %v", got, want)
	}
}

func replayLetters(t *testing.T, ctx context.Context, pg *postgres.Sink) []postgres.DeadLetter {
	t.Helper()
	letters, err := pg.ListDeadLetters(ctx, postgres.DeadLetterFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return letters
}

func replayAllAudit(t *testing.T, ctx context.Context, pg *postgres.Sink) []postgres.AuditEntry {
	t.Helper()
	rows, err := pg.ListAudit(ctx, postgres.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// replayAudit returns the audit rows written by replays.
func replayAudit(t *testing.T, ctx context.Context, pg *postgres.Sink) []postgres.AuditEntry {
	t.Helper()
	var out []postgres.AuditEntry
	for _, r := range replayAllAudit(t, ctx, pg) {
		if r.Source == ReplaySource {
			out = append(out, r)
		}
	}
	return out
}

// replayLetterSummary names letters without their messages.
func replayLetterSummary(letters []postgres.DeadLetter) string {
	var b strings.Builder
	for _, d := range letters {
		fmt.Fprintf(&b, "[%d %s %s@%s replayed=%v] ", d.ID, d.Source, d.Partition, d.Position, !d.ReplayedAt.IsZero())
	}
	return b.String()
}

func TestReplayAfterMappingFix(t *testing.T) {
	t.Parallel()
	ctx := replayContext(t)
	pg := replayPostgres(t, ctx)
	dl := OutcomeDeadLettered
	replayIngest(t, ctx, replayProcessor(t, pg, parse.AutoMapping), "kafka",
		[]Outcome{OutcomeStored, dl, dl},
		replayMessage("OTA_HotelResNotifRQ", "H1", "GOOD1"),
		replayMessage("OTA_HotelResSyncRQ", "H1", "SYNC1"),
		replayMessage("OTA_ReadRQ", "H1", "READ1"))

	letters := replayLetters(t, ctx, pg)
	if len(letters) != 2 {
		t.Fatalf("%d dead letters after ingest, want 2", len(letters))
	}
	syncID, readID := letters[0].ID, letters[1].ID
	if bytes.Contains(letters[0].Message, []byte(replayPAN)) || !bytes.Contains(letters[0].Message, []byte("1111")) {
		t.Fatalf("dead letter message is not redacted to the last four digits:\n%s", letters[0].Message)
	}
	auditBefore := len(replayAllAudit(t, ctx, pg))
	syncKey := reservation.Key{HotelCode: "H1", Confirmation: "SYNC1"}
	fixed := replayProcessor(t, pg, replayMapping(t))

	// A dry run says what would happen and changes nothing.
	rep, err := Replay(ctx, pg, fixed, ReplayOptions{DryRun: true})
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if !rep.DryRun || rep.Letters != 2 || rep.Replayed != 1 || rep.Reservations != 1 || rep.StillFailing != 1 || len(rep.Outcomes) != 0 {
		t.Errorf("dry run report %+v, want 2 letters, 1 replayed with 1 reservation, 1 failing, no outcomes", rep)
	}
	if len(rep.Failures) != 1 || rep.Failures[0].ID != readID || !strings.Contains(rep.Failures[0].Reason, "unknown message type") {
		t.Errorf("dry run failures %+v, want letter %d: unknown message type", rep.Failures, readID)
	}
	for _, d := range replayLetters(t, ctx, pg) {
		if !d.ReplayedAt.IsZero() {
			t.Errorf("dry run marked letter %d replayed", d.ID)
		}
	}
	if n := len(replayAllAudit(t, ctx, pg)); n != auditBefore {
		t.Errorf("dry run wrote %d audit rows", n-auditBefore)
	}
	if _, _, err := pg.Get(ctx, syncKey); !errors.Is(err, postgres.ErrNotFound) {
		t.Errorf("dry run stored the reservation (Get: %v)", err)
	}

	// The replay stores what the fixed mapping accepts; the rest stays pending.
	rep, err = Replay(ctx, pg, fixed, ReplayOptions{})
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if rep.Letters != 2 || rep.Replayed != 1 || rep.StillFailing != 1 ||
		rep.Outcomes[OutcomeStored] != 1 || rep.Outcomes[OutcomeDeadLettered] != 1 {
		t.Errorf("replay report %+v, want 2 letters: 1 stored and replayed, 1 still failing", rep)
	}
	if len(rep.Failures) != 1 || rep.Failures[0].ID != readID || rep.Failures[0].Source != "kafka" ||
		!strings.Contains(rep.Failures[0].Reason, "unknown message type") {
		t.Errorf("replay failures %+v, want letter %d from kafka: unknown message type", rep.Failures, readID)
	}
	got, _, err := pg.Get(ctx, syncKey)
	if err != nil {
		t.Fatalf("replayed reservation not stored: %v", err)
	}
	if got.Payment.Last4 != "1111" || got.MessageType != "OTA_HotelResSyncRQ" {
		t.Errorf("replayed reservation: payment %+v, message type %q", got.Payment, got.MessageType)
	}
	checkLetters := func(step string) {
		t.Helper()
		letters := replayLetters(t, ctx, pg)
		if len(letters) != 2 {
			t.Fatalf("%s: %d dead letters, want the original 2 (no duplicate): %s", step, len(letters), replayLetterSummary(letters))
		}
		for _, d := range letters {
			if d.Source != "kafka" {
				t.Errorf("%s: letter %d from %q, want only the original kafka letters", step, d.ID, d.Source)
			}
			if replayed := !d.ReplayedAt.IsZero(); replayed != (d.ID == syncID) {
				t.Errorf("%s: letter %d replayed=%v", step, d.ID, replayed)
			}
		}
		audit := replayAudit(t, ctx, pg)
		if len(audit) != 1 || audit[0].Partition != ReplayPartition || audit[0].Position != strconv.FormatInt(syncID, 10) ||
			audit[0].Outcome != string(OutcomeStored) || audit[0].MessageID != "echo-SYNC1" {
			t.Errorf("%s: replay audit rows %+v, want one stored row for letter %d", step, audit, syncID)
		}
	}
	checkLetters("first replay")

	// Again: only the failing letter is pending; it still adds nothing.
	rep, err = Replay(ctx, pg, fixed, ReplayOptions{})
	if err != nil {
		t.Fatalf("second replay: %v", err)
	}
	if rep.Letters != 1 || rep.Replayed != 0 || rep.StillFailing != 1 {
		t.Errorf("second replay report %+v, want 1 letter still failing", rep)
	}
	checkLetters("second replay")
}

func TestReplayByID(t *testing.T) {
	t.Parallel()
	ctx := replayContext(t)
	pg := replayPostgres(t, ctx)
	replayIngest(t, ctx, replayProcessor(t, pg, parse.AutoMapping), "kafka",
		[]Outcome{OutcomeDeadLettered, OutcomeDeadLettered},
		replayMessage("OTA_HotelResSyncRQ", "H2", "A"),
		replayMessage("OTA_HotelResSyncRQ", "H2", "B"))
	letters := replayLetters(t, ctx, pg)
	first, second := letters[0].ID, letters[1].ID
	fixed := replayProcessor(t, pg, replayMapping(t))

	rep, err := Replay(ctx, pg, fixed, ReplayOptions{ID: second})
	if err != nil || rep.Letters != 1 || rep.Replayed != 1 {
		t.Fatalf("replay --id %d: %+v, %v; want 1 letter replayed", second, rep, err)
	}
	for _, d := range replayLetters(t, ctx, pg) {
		if replayed := !d.ReplayedAt.IsZero(); replayed != (d.ID == second) {
			t.Errorf("letter %d replayed=%v after replaying only %d", d.ID, replayed, second)
		}
	}

	tests := []struct {
		name   string
		opts   ReplayOptions
		wantIs error
	}{
		{"already replayed", ReplayOptions{ID: second}, ErrLetterReplayed},
		{"no such letter", ReplayOptions{ID: second + 100}, ErrLetterNotFound},
		{"other source", ReplayOptions{ID: first, Source: "file"}, ErrLetterNotFound},
		{"already replayed, dry run", ReplayOptions{ID: second, DryRun: true}, ErrLetterReplayed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Replay(ctx, pg, fixed, tc.opts)
			if !errors.Is(err, tc.wantIs) {
				t.Fatalf("Replay(%+v) = %v, want %v", tc.opts, err, tc.wantIs)
			}
			if rep.Letters != 0 {
				t.Errorf("report %+v after an error, want nothing done", rep)
			}
		})
	}
	if audit := replayAudit(t, ctx, pg); len(audit) != 1 {
		t.Errorf("%d replay audit rows, want 1", len(audit))
	}
}

func TestReplayPagesWithLimitAndSource(t *testing.T) {
	t.Parallel()
	ctx := replayContext(t)
	pg := replayPostgres(t, ctx)
	proc := replayProcessor(t, pg, parse.AutoMapping)
	var values [][]byte
	var want []Outcome
	for i := range 5 {
		values = append(values, replayMessage("OTA_HotelResSyncRQ", "H3", fmt.Sprintf("K%d", i)))
		want = append(want, OutcomeDeadLettered)
	}
	replayIngest(t, ctx, proc, "kafka", want, values...)
	replayIngest(t, ctx, proc, "file", []Outcome{OutcomeDeadLettered}, replayMessage("OTA_HotelResSyncRQ", "H3", "F0"))
	fixed := replayProcessor(t, pg, replayMapping(t))

	steps := []struct {
		name         string
		opts         ReplayOptions
		wantLetters  int
		wantReplayed []string // confirmations stored after the step
	}{
		{"source file only", ReplayOptions{Source: "file", BatchSize: 2}, 1, []string{"F0"}},
		{"limit 3 in pages of 2", ReplayOptions{Limit: 3, BatchSize: 2}, 3, []string{"F0", "K0", "K1", "K2"}},
		{"the rest", ReplayOptions{BatchSize: 2}, 2, []string{"F0", "K0", "K1", "K2", "K3", "K4"}},
		{"nothing left", ReplayOptions{BatchSize: 2}, 0, []string{"F0", "K0", "K1", "K2", "K3", "K4"}},
	}
	for _, st := range steps { // in order: each step sees the previous ones' effects
		t.Run(st.name, func(t *testing.T) {
			rep, err := Replay(ctx, pg, fixed, st.opts)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Letters != st.wantLetters || rep.Replayed != st.wantLetters || rep.StillFailing != 0 {
				t.Errorf("report %+v, want %d letters replayed", rep, st.wantLetters)
			}
			for _, conf := range st.wantReplayed {
				if _, _, err := pg.Get(ctx, reservation.Key{HotelCode: "H3", Confirmation: conf}); err != nil {
					t.Errorf("%s not stored: %v", conf, err)
				}
			}
			if n := len(replayAudit(t, ctx, pg)); n != len(st.wantReplayed) {
				t.Errorf("%d replay audit rows, want %d", n, len(st.wantReplayed))
			}
		})
	}
}

func TestReplayRejectsNegativeLimit(t *testing.T) {
	t.Parallel()
	ctx := replayContext(t)
	pg := replayPostgres(t, ctx)
	if _, err := Replay(ctx, pg, replayProcessor(t, pg, parse.AutoMapping), ReplayOptions{Limit: -1}); err == nil {
		t.Error("Replay with limit -1 succeeded")
	}
}
