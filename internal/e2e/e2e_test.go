package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/redact"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/postgres"
)

func TestMain(m *testing.M) { Main(m) }

// TestCorpusExpected checks the harness itself: poison messages are
// rejected as documented (WriteCorpus fails otherwise), and Expected
// agrees with the generator's intent.
func TestCorpusExpected(t *testing.T) {
	t.Parallel()
	c := WriteCorpus(t, t.TempDir(), 300, 11, 7)
	if len(c.Files) != 307 || len(c.Good) != 300 || len(c.Poison) != 7 {
		t.Fatalf("corpus has %d files, %d good, %d poison", len(c.Files), len(c.Good), len(c.Poison))
	}
	kinds := make(map[string]int)
	for _, p := range c.Poison {
		kinds[p.Kind]++
	}
	if len(kinds) != len(poisonKinds) {
		t.Errorf("poison kinds %v, want all %d", kinds, len(poisonKinds))
	}
	want := c.Expected(t)
	if len(want) == 0 || len(want) >= len(c.Good) {
		t.Errorf("%d reservations from %d messages: want some modified ones", len(want), len(c.Good))
	}
	if len(c.Keys()) != len(want) {
		t.Errorf("Keys: %d, Expected: %d", len(c.Keys()), len(want))
	}
}

func TestCardNumber(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		card bool
	}{
		{"4111111111111111", true},
		{"x 378282246310005 y", true},
		{"4111XXXXXXXX1111", false},
		{"1234567890123", false},                   // not Luhn-valid
		{"2026010506000200000000000000001", false}, // too long to be a card
		{"6149020091", false},
	} {
		if got := cardNumber(tc.in) != ""; got != tc.card {
			t.Errorf("cardNumber(%q) found a card: %v, want %v", tc.in, got, tc.card)
		}
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// TestAssertStoresDetectsDifferences checks that AssertStores passes on
// stores that hold exactly the expectation and reports a changed field, a
// missing reservation and an extra one.
func TestAssertStoresDetectsDifferences(t *testing.T) {
	t.Parallel()
	env := Env(t)
	c := WriteCorpus(t, t.TempDir(), 20, 5, 0)
	want := c.Expected(t)
	ctx := context.Background()
	var recs []sinks.Record
	for _, r := range want {
		v, err := reservation.VersionOf(&r, "")
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, sinks.Record{Reservation: r, Version: v})
	}
	for _, s := range []interface {
		Write(context.Context, []sinks.Record) ([]sinks.Result, error)
	}{env.Postgres(t), env.Dynamo(t)} {
		if _, err := s.Write(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	ok := &recorder{TB: t}
	AssertStores(ok, env, want)
	if len(ok.errors) != 0 {
		t.Fatalf("AssertStores on matching stores: %v", ok.errors)
	}

	changed := maps.Clone(want)
	k := recs[0].Reservation.Key()
	r := changed[k]
	r.Status = "Changed"
	changed[k] = r
	delete(changed, recs[1].Reservation.Key())
	changed[reservation.Key{HotelCode: "H99999", Confirmation: "0"}] = reservation.Reservation{HotelCode: "H99999", Confirmation: "0"}
	bad := &recorder{TB: t}
	AssertStores(bad, env, changed)
	text := strings.Join(bad.errors, "\n")
	for _, w := range []string{"postgres: " + k.String() + ": stored record differs in [status]", "dynamodb: " + k.String(), "H99999/0", "not found"} {
		if !strings.Contains(text, w) {
			t.Errorf("AssertStores did not report %q; it said:\n%s", w, text)
		}
	}
	if strings.Contains(text, recs[0].Reservation.PrimaryGuest().Surname) && recs[0].Reservation.PrimaryGuest().Surname != "" {
		t.Errorf("AssertStores printed personal data:\n%s", text)
	}
}

func TestCanonical(t *testing.T) {
	t.Parallel()
	r := Canonical(reservation.Reservation{
		MessageTime: "2026-01-05T06:00:02.1234567Z", CreatedAt: "2026-01-05T01:00:00-05:00",
		TotalAfterTax: "+05.50", RoomStays: []reservation.RoomStay{{TotalBeforeTax: "12.50"}},
	})
	if r.MessageTime != "2026-01-05T06:00:02.123456Z" || r.CreatedAt != "2026-01-05T06:00:00Z" {
		t.Errorf("times: %q %q", r.MessageTime, r.CreatedAt)
	}
	if r.TotalAfterTax != Canonical(reservation.Reservation{TotalAfterTax: "5.5"}).TotalAfterTax || r.RoomStays[0].TotalBeforeTax != "25/2" {
		t.Errorf("amounts: %q %q", r.TotalAfterTax, r.RoomStays[0].TotalBeforeTax)
	}
	if r.Guests == nil || r.ExternalIDs == nil {
		t.Error("nil lists not normalised")
	}
}

// TestAssertAuditDetectsProblems writes a ledger with one audit row too
// few, a poison message whose letter is not redacted and has the wrong
// reason, and checks that AssertAudit reports each problem.
func TestAssertAuditDetectsProblems(t *testing.T) {
	t.Parallel()
	env := Env(t)
	c := WriteCorpus(t, t.TempDir(), 10, 6, len(poisonKinds))
	var notXML Poison // always carries a full card number
	poison := make(map[string]Poison)
	for _, p := range c.Poison {
		poison[p.File] = p
		if p.Kind == PoisonNotXML {
			notXML = p
		}
	}
	var rows []postgres.AuditRow
	var letters []postgres.DeadLetter
	now := time.Now()
	for i, f := range c.Files {
		pos := fmt.Sprint(i)
		row := postgres.AuditRow{Source: "file", Partition: c.Dir, Position: pos, ReceivedAt: now, Outcome: OutcomeStored}
		if p, ok := poison[f]; ok {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			row.Outcome, row.Error = OutcomeDeadLettered, p.Reason
			d := postgres.DeadLetter{Source: "file", Partition: c.Dir, Position: pos, Message: redact.Redact(raw), Reason: p.Reason, ReceivedAt: now}
			if p.Kind == PoisonNotXML { // not redacted, wrong reason
				d.Message, d.Reason = raw, "something else"
			}
			if p.Kind == PoisonMalformed { // right letter, wrong reason
				d.Reason = "something else"
			}
			letters = append(letters, d)
		}
		if i == 0 {
			continue // one audit row missing
		}
		rows = append(rows, row)
	}
	ctx := context.Background()
	if err := env.Postgres(t).WriteAudit(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if err := env.Postgres(t).WriteDeadLetters(ctx, letters); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{TB: t}
	AssertAudit(rec, env, c)
	text := strings.Join(rec.errors, "\n")
	want := []string{
		fmt.Sprintf("audit holds %d rows, want one per message: %d", len(c.Files)-1, len(c.Files)),
		"holds a full card number",
		notXML.File + "): 0 dead letters with its redacted content",
		`dead letter reason "something else", want it to start with "` + parse.ErrMalformed.Error(),
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("AssertAudit did not report %q; it said:\n%s", w, text)
		}
	}
}
