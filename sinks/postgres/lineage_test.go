package postgres

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/resingest/resingest/reservation"
)

// historyLine is an entry in a comparable form.
func historyLine(e HistoryEntry) string {
	return fmt.Sprintf("%s/%s/%d %s %s %s %s %s", e.Partition, e.Position, e.Ordinal, e.HotelCode, e.Version,
		e.Action, e.Outcome, e.ArchiveKey)
}

// TestLineage: audit rows carry their messages' records; a reservation's
// history lists them in time order, once per message even when a message
// is delivered again, with the records held for its confirmation; the
// release of a held record moves its lineage to the hotel with its
// outcome, whether the holder's audit row was written before or after.
func TestLineage(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s, _ := newTestSink(t)
	t0 := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	row := func(pos string, at time.Time, outcome string, recs ...AuditRecord) AuditRow {
		return AuditRow{MessageID: "m" + pos, Source: "kafka", Partition: "t/0", Position: pos, ReceivedAt: at,
			Outcome: outcome, Latency: 40 * time.Millisecond, Records: recs}
	}
	rec := func(ordinal int, hotel, conf, version, action, outcome string) AuditRecord {
		return AuditRecord{Ordinal: ordinal, HotelCode: hotel, Confirmation: conf, Version: version, Action: action,
			MessageType: "OTA_HotelResNotifRQ", ArchiveKey: "raw/" + version, Outcome: outcome, Mapping: "m-" + version}
	}
	if err := s.WriteAudit(ctx, []AuditRow{
		row("1", t0, "stored", rec(0, "H1", "C1", "v1", "create", "stored"), rec(1, "H2", "C9", "v1", "create", "stored")),
		row("2", t0.Add(time.Minute), "stored", rec(0, "H1", "C1", "v3", "modify", "stored")),
		row("3", t0.Add(2*time.Minute), "stale", rec(0, "H1", "C1", "v2", "modify", "stale")),
		row("4", t0.Add(3*time.Minute), "dead_lettered"), // no records
	}); err != nil {
		t.Fatal(err)
	}
	// Message 2 delivered again: its audit row is kept, and so is its lineage.
	if err := s.WriteAudit(ctx, []AuditRow{row("2", t0.Add(time.Minute), "duplicate", rec(0, "H1", "C1", "v3", "modify", "duplicate"))}); err != nil {
		t.Fatal(err)
	}
	k := reservation.Key{HotelCode: "H1", Confirmation: "C1"}
	history := func() []string {
		t.Helper()
		h, err := s.History(ctx, k, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range h {
			out = append(out, historyLine(e))
			if e.Latency != 40*time.Millisecond && e.Position != "6" { // 6: written by the release
				t.Errorf("%s: latency %v, want the audit row's", historyLine(e), e.Latency)
			}
			if want := "m-" + e.Version; e.Mapping != want && e.Position != "6" {
				t.Errorf("%s: mapping %q, want %q", historyLine(e), e.Mapping, want)
			}
		}
		return out
	}
	want := []string{
		"t/0/1/0 H1 v1 create stored raw/v1",
		"t/0/2/0 H1 v3 modify stored raw/v3",
		"t/0/3/0 H1 v2 modify stale raw/v2",
	}
	if got := history(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A cancel without a hotel code, held and audited, then released.
	held := holdOne(t, ctx, s, "C1", "5", t0.Add(4*time.Minute))
	held.Reservation.Action, held.Version, held.ArchiveKey = "cancel", "v4", "raw/v4"
	if err := s.WriteAudit(ctx, []AuditRow{row("5", t0.Add(4*time.Minute), "held",
		rec(0, "", "C1", "v4", "cancel", "held"))}); err != nil {
		t.Fatal(err)
	}
	want = append(want, "t/0/5/0  v4 cancel held raw/v4")
	if got := history(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("history with a held cancel:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n, err := s.FinishPending(ctx, []PendingDone{{Record: &held, Outcome: "resolved", HotelCode: "H1"}}); err != nil || n != 1 {
		t.Fatalf("FinishPending: %d, %v", n, err)
	}
	want[3] = "t/0/5/0 H1 v4 cancel resolved raw/v4"
	if got := history(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("history after the release:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Released before the holder's own audit write: the release writes the
	// lineage, and the holder's write (its audit row already there) adds
	// none.
	early := holdOne(t, ctx, s, "C1", "6", t0.Add(5*time.Minute))
	early.Version, early.ArchiveKey = "v5", "raw/v5"
	if n, err := s.FinishPending(ctx, []PendingDone{{Record: &early, Outcome: "stale", HotelCode: "H1"}}); err != nil || n != 1 {
		t.Fatalf("FinishPending: %d, %v", n, err)
	}
	if err := s.WriteAudit(ctx, []AuditRow{row("6", t0.Add(5*time.Minute), "held",
		rec(0, "", "C1", "v5", "", "held"))}); err != nil {
		t.Fatal(err)
	}
	want = append(want, "t/0/6/0 H1 v5  stale raw/v5")
	if got := history(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("history after an early release:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The other reservation of message 1 has its own story.
	other, err := s.History(ctx, reservation.Key{HotelCode: "H2", Confirmation: "C9"}, 100)
	if err != nil || len(other) != 1 || other[0].Position != "1" || other[0].Ordinal != 1 {
		t.Errorf("history of H2/C9: %+v, %v; want message 1's second record", other, err)
	}
}
