package postgres

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// opsT0 is the start of the console tests' window [opsT0, opsT0+3h): it
// spans the end of November 2026 and the start of December, so that the
// reads cross a month partition.
var opsT0 = time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)

// opsAt is opsT0 plus minutes.
func opsAt(minutes int) time.Time { return opsT0.Add(time.Duration(minutes) * time.Minute) }

// opsLetter is a dead letter at position pos received at opsAt(minutes).
func opsLetter(pos string, minutes int, hotel, class string) DeadLetter {
	return DeadLetter{Source: "kafka", Partition: "t/0", Position: pos, MessageID: "m-" + pos,
		Message: []byte("<bad " + pos + ">"), Reason: class + ": detail", ReasonClass: class, HotelCode: hotel,
		ReceivedAt: opsAt(minutes)}
}

// opsFixture writes the console tests' audit rows, lineage and dead
// letters (see the comments for what each window holds) and returns the
// letters' ids by position.
func opsFixture(t *testing.T, s *Sink) map[string]int64 {
	t.Helper()
	ctx := testContext(t)
	// November's partitions exist; December's rows go to the default
	// partitions, and are moved into December's when it is created below.
	if _, err := s.EnsurePartitions(ctx, opsT0, 0); err != nil {
		t.Fatal(err)
	}
	row := func(pos string, minutes int, outcome string, recs ...AuditRecord) AuditRow {
		return AuditRow{MessageID: "m" + pos, Source: "kafka", Partition: "t/0", Position: pos,
			ReceivedAt: opsAt(minutes), Outcome: outcome, Records: recs}
	}
	rec := func(ordinal int, hotel, conf, outcome string) AuditRecord {
		return AuditRecord{Ordinal: ordinal, HotelCode: hotel, Confirmation: conf, Version: "v1",
			Action: "create", MessageType: "OTA_HotelResNotifRQ", Outcome: outcome, Mapping: "ota2003"}
	}
	legacy := func(r AuditRecord) AuditRecord { r.Mapping = "ota2001"; return r }
	unknown := func(r AuditRecord) AuditRecord { r.Mapping = ""; return r }
	if err := s.WriteAudit(ctx, []AuditRow{
		row("1", 0, "stored", rec(0, "H1", "C1", "stored"), rec(1, "H1", "C2", "stored")),
		row("2", 10, "duplicate", rec(0, "H1", "C1", "duplicate")),
		row("8", 20, "dead_lettered"),
		row("9", 30, "held", rec(0, "", "C10", "held")), // held, no other record: no hotel's
		row("3", 70, "stale", legacy(rec(0, "H2", "C3", "stale"))),
		row("4", 130, "resolved", unknown(rec(0, "H2", "C4", "resolved"))),
		// H2's record and two held ones: H2's missing fields.
		row("5", 135, "held", rec(0, "H2", "C5", "stored"), rec(0, "", "C6", "held"), rec(1, "", "C7", "held")),
		row("6", -60, "stored", rec(0, "H1", "C8", "stored")), // before the window
		row("7", 200, "stored", rec(0, "H3", "C9", "stored")), // after it
	}); err != nil {
		t.Fatal(err)
	}
	// Letters in one batch, and one alone.
	letters := []DeadLetter{
		opsLetter("d1", 5, "H1", "malformed XML"),
		opsLetter("d2", 15, "H1", "malformed XML"), // replayed below
		opsLetter("d3", 40, "H1", "invalid reservation"),
		opsLetter("d4", 65, "", ""), // unclassified, no hotel
		opsLetter("d5", 140, "H4", "dynamo refused"),
		opsLetter("d6", -30, "H1", "malformed XML"), // before the window
		opsLetter("d7", 185, "H2", "malformed XML"), // after it
	}
	if err := s.WriteDeadLetters(ctx, letters); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeadLetter(ctx, opsLetter("d8", 150, "H2", "")); err != nil {
		t.Fatal(err)
	}
	// A held record dead-lettered as unresolved by the sweep: its letter
	// keeps its class (and no hotel).
	held := holdOne(t, ctx, s, "C99", "d9", opsAt(-120))
	letter := opsLetter("d9", -120, "", "unresolved")
	if n, err := s.FinishPending(ctx, []PendingDone{{Record: &held, Outcome: "dead_lettered",
		Error: "unresolved: ttl", Letter: &letter}}); err != nil || n != 1 {
		t.Fatalf("FinishPending: %d, %v", n, err)
	}
	if _, err := s.EnsurePartitions(ctx, opsAt(180), 0); err != nil { // December's
		t.Fatal(err)
	}
	all, err := s.ListDeadLetters(ctx, DeadLetterFilter{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, d := range all {
		ids[d.Position] = d.ID
	}
	if len(ids) != 9 {
		t.Fatalf("%d dead letters stored (%v), want 9", len(ids), ids)
	}
	if err := s.MarkReplayed(ctx, ids["d2"]); err != nil {
		t.Fatal(err)
	}
	var inDefault int
	if err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM audit_default) + (SELECT count(*) FROM audit_records_default)
		+ (SELECT count(*) FROM dead_letters_default)`).Scan(&inDefault); err != nil || inDefault != 0 {
		t.Fatalf("%d rows left in default partitions (%v), want every row in its month's", inDefault, err)
	}
	// Migration 0014's indexes are on every partition, the one created
	// after it too.
	for _, part := range []string{"dead_letters_202611", "dead_letters_202612", "dead_letters_default"} {
		var defs []string
		rows, err := s.pool.Query(ctx, `SELECT indexdef FROM pg_indexes WHERE tablename = $1
			AND schemaname = current_schema() ORDER BY indexdef`, part)
		if err != nil {
			t.Fatal(err)
		}
		if defs, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			t.Fatal(err)
		}
		all := strings.Join(defs, "\n")
		if !strings.Contains(all, "(hotel_code, received_at)") || !strings.Contains(all, "(reason_class, received_at)") {
			t.Errorf("%s lacks the indexes of migration 0014:\n%s", part, all)
		}
	}
	return ids
}

func TestOpsReads(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t)
	ids := opsFixture(t, s)
	ctx := testContext(t)
	end := opsAt(180)

	t.Run("OutcomesOverTime", func(t *testing.T) {
		line := func(cs []OutcomeCount) string {
			var b strings.Builder
			for _, c := range cs {
				fmt.Fprintf(&b, "%s %s %d\n", c.Bucket.Format("01-02T15:04"), c.Outcome, c.Messages)
			}
			return b.String()
		}
		cases := []struct {
			name         string
			since, until time.Time
			bucket       time.Duration
			want         string
		}{
			{"hours of the window", opsT0, end, time.Hour, `11-30T22:00 dead_lettered 1
11-30T22:00 duplicate 1
11-30T22:00 held 1
11-30T22:00 stored 1
11-30T23:00 stale 1
12-01T00:00 held 1
12-01T00:00 resolved 1
`},
			// date_bin from the epoch: 90-minute buckets start at 21:00 and
			// 22:30 (message 9, held at 22:30, opens the second).
			{"90 minutes", opsT0, end, 90 * time.Minute, `11-30T21:00 dead_lettered 1
11-30T21:00 duplicate 1
11-30T21:00 stored 1
11-30T22:30 held 1
11-30T22:30 stale 1
12-01T00:00 held 1
12-01T00:00 resolved 1
`},
			// The held record settled as a dead letter in the fixture
			// got an audit row at opsAt(-120).
			{"unbounded, by day", time.Time{}, time.Time{}, 24 * time.Hour, `11-30T00:00 dead_lettered 2
11-30T00:00 duplicate 1
11-30T00:00 held 1
11-30T00:00 stale 1
11-30T00:00 stored 2
12-01T00:00 held 1
12-01T00:00 resolved 1
12-01T00:00 stored 1
`},
			{"since inclusive, until exclusive", opsAt(10), opsAt(70), time.Hour, `11-30T22:00 dead_lettered 1
11-30T22:00 duplicate 1
11-30T22:00 held 1
`},
			{"empty", opsAt(300), opsAt(400), time.Hour, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := s.OutcomesOverTime(ctx, c.since, c.until, c.bucket)
				if err != nil {
					t.Fatal(err)
				}
				if line(got) != c.want {
					t.Errorf("got:\n%swant:\n%s", line(got), c.want)
				}
				for _, g := range got {
					if g.Bucket.Location() != time.UTC {
						t.Errorf("bucket %v not in UTC", g.Bucket)
					}
				}
			})
		}
		if _, err := s.OutcomesOverTime(ctx, opsT0, end, 0); err == nil {
			t.Error("a zero bucket: no error")
		}
	})

	t.Run("DeadLettersByReason", func(t *testing.T) {
		got, err := s.DeadLettersByReason(ctx, opsT0, end)
		if err != nil {
			t.Fatal(err)
		}
		want := []ReasonCount{
			{"malformed XML", 2, 1, opsAt(15)},
			{UnclassifiedReason, 2, 2, opsAt(150)},
			{"dynamo refused", 1, 1, opsAt(140)},
			{"invalid reservation", 1, 1, opsAt(40)},
		}
		if !slices.Equal(got, want) {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}
		all, err := s.DeadLettersByReason(ctx, time.Time{}, time.Time{})
		if err != nil || len(all) != 5 || all[0] != (ReasonCount{"malformed XML", 4, 3, opsAt(185)}) ||
			all[4] != (ReasonCount{"unresolved", 1, 1, opsAt(-120)}) {
			t.Errorf("unbounded: %+v, %v", all, err)
		}
	})

	t.Run("HotelQuality", func(t *testing.T) {
		h1 := HotelQuality{HotelCode: "H1", Mappings: []string{"ota2003"}, Messages: 3, Stored: 2, Duplicate: 1, DeadLetters: 3,
			DeadLettersByReason: map[string]int64{"malformed XML": 2, "invalid reservation": 1}, LastMessage: opsAt(40)}
		h2 := HotelQuality{HotelCode: "H2", Mappings: []string{"ota2001", "ota2003"}, Messages: 3, Stored: 1, Stale: 1, Resolved: 1, DeadLetters: 1,
			DeadLettersByReason: map[string]int64{UnclassifiedReason: 1}, MissingFields: 3, LastMessage: opsAt(150)}
		h4 := HotelQuality{HotelCode: "H4", DeadLetters: 1, DeadLettersByReason: map[string]int64{"dynamo refused": 1},
			LastMessage: opsAt(140)}
		eq := func(a, b HotelQuality) bool {
			return a.HotelCode == b.HotelCode && slices.Equal(a.Mappings, b.Mappings) && a.Messages == b.Messages && a.Stored == b.Stored && a.Stale == b.Stale &&
				a.Duplicate == b.Duplicate && a.Resolved == b.Resolved && a.DeadLetters == b.DeadLetters &&
				maps.Equal(a.DeadLettersByReason, b.DeadLettersByReason) && a.MissingFields == b.MissingFields &&
				a.LastMessage.Equal(b.LastMessage) && a.LastMessage.Location() == time.UTC
		}
		cases := []struct {
			sort  string
			limit int
			want  []HotelQuality
		}{
			{"hotel", 0, []HotelQuality{h1, h2, h4}},
			{"messages", 10, []HotelQuality{h1, h2, h4}}, // H1 and H2 tie: by hotel
			{"dead_letter_rate", 10, []HotelQuality{h4, h1, h2}},
			{"missing", 10, []HotelQuality{h2, h1, h4}},
			{"last", 10, []HotelQuality{h2, h4, h1}},
			{"last", 2, []HotelQuality{h2, h4}},
		}
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s limit %d", c.sort, c.limit), func(t *testing.T) {
				got, err := s.HotelQuality(ctx, opsT0, end, c.sort, c.limit)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.EqualFunc(got, c.want, eq) {
					t.Errorf("got  %+v\nwant %+v", got, c.want)
				}
			})
		}
		if r := []float64{h1.DeadLetterRate(), h2.DeadLetterRate(), h4.DeadLetterRate(), (HotelQuality{}).DeadLetterRate()}; !slices.Equal(r, []float64{0.5, 0.25, 1, 0}) {
			t.Errorf("DeadLetterRate: %v", r)
		}
		// Unbounded: the hotels outside the window too (H3; H1's older
		// records and letters; H2's later letter).
		all, err := s.HotelQuality(ctx, time.Time{}, time.Time{}, "hotel", 0)
		if err != nil || len(all) != 4 || all[0].Messages != 4 || all[0].DeadLetters != 4 ||
			all[1].DeadLetters != 2 || all[2].HotelCode != "H3" || !all[2].LastMessage.Equal(opsAt(200)) {
			t.Errorf("unbounded: %+v, %v", all, err)
		}
		if got, err := s.HotelQuality(ctx, opsAt(300), opsAt(400), "hotel", 10); err != nil || len(got) != 0 {
			t.Errorf("an empty window: %+v, %v", got, err)
		}
		for _, bad := range []string{"bogus", "", "HOTEL", "hotel; DROP TABLE audit"} {
			_, err := s.HotelQuality(ctx, opsT0, end, bad, 10)
			if !errors.Is(err, ErrUnknownSort) || !strings.Contains(err.Error(), "hotel, messages, dead_letter_rate, missing, last") {
				t.Errorf("sort %q: %v, want ErrUnknownSort naming the sorts", bad, err)
			}
		}
	})

	t.Run("ListDeadLetters filters", func(t *testing.T) {
		positions := func(ds []DeadLetter) []string {
			var out []string
			for _, d := range ds {
				out = append(out, d.Position)
			}
			return out
		}
		// byID orders positions by their letters' ids, as the list does.
		byID := func(desc bool, pos ...string) []string {
			slices.SortFunc(pos, func(a, b string) int {
				if desc {
					return int(ids[b] - ids[a])
				}
				return int(ids[a] - ids[b])
			})
			return pos
		}
		cases := []struct {
			name string
			f    DeadLetterFilter
			want []string
		}{
			{"none", DeadLetterFilter{}, byID(false, "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9")},
			{"reason class", DeadLetterFilter{ReasonClass: "malformed XML"}, byID(false, "d1", "d2", "d6", "d7")},
			{"unclassified", DeadLetterFilter{ReasonClass: UnclassifiedReason}, byID(false, "d4", "d8")},
			{"unknown class", DeadLetterFilter{ReasonClass: "nope"}, nil},
			{"hotel", DeadLetterFilter{HotelCode: "H1"}, byID(false, "d1", "d2", "d3", "d6")},
			{"since", DeadLetterFilter{Since: opsT0}, byID(false, "d1", "d2", "d3", "d4", "d5", "d7", "d8")},
			{"until", DeadLetterFilter{Until: opsAt(60)}, byID(false, "d1", "d2", "d3", "d6", "d9")},
			{"since inclusive, until exclusive", DeadLetterFilter{Since: opsAt(5), Until: opsAt(40)}, byID(false, "d1", "d2")},
			{"December only", DeadLetterFilter{Since: opsAt(120)}, byID(false, "d5", "d7", "d8")},
			{"hotel, class, window, pending", DeadLetterFilter{HotelCode: "H1", ReasonClass: "malformed XML",
				Since: opsT0, Until: end, PendingOnly: true}, []string{"d1"}},
			{"hotel and class", DeadLetterFilter{HotelCode: "H2", ReasonClass: "malformed XML"}, []string{"d7"}},
			{"source and hotel", DeadLetterFilter{Source: "kinesis", HotelCode: "H1"}, nil},
			{"newest", DeadLetterFilter{Newest: true}, byID(true, "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9")},
			{"newest of a hotel, limit", DeadLetterFilter{Newest: true, HotelCode: "H1", Limit: 2}, byID(true, "d1", "d2", "d3", "d6")[:2]},
			{"newest below an id", DeadLetterFilter{Newest: true, HotelCode: "H1", AfterID: ids["d3"]}, byID(true, "d1", "d2", "d3", "d6")[slices.Index(byID(true, "d1", "d2", "d3", "d6"), "d3")+1:]},
			{"ascending after an id", DeadLetterFilter{HotelCode: "H1", AfterID: ids["d3"]}, byID(false, "d1", "d2", "d3", "d6")[slices.Index(byID(false, "d1", "d2", "d3", "d6"), "d3")+1:]},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := s.ListDeadLetters(ctx, c.f)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(positions(got), c.want) {
					t.Errorf("got %v, want %v", positions(got), c.want)
				}
			})
		}
		// Paging newest first, two at a time, visits every letter once in
		// descending id order.
		var pages []string
		var after int64
		for range 10 {
			page, err := s.ListDeadLetters(ctx, DeadLetterFilter{Newest: true, AfterID: after, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			pages = append(pages, positions(page)...)
			after = page[len(page)-1].ID
		}
		if want := byID(true, "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9"); !slices.Equal(pages, want) {
			t.Errorf("newest-first pages: %v, want %v", pages, want)
		}
	})

	t.Run("GetDeadLetter", func(t *testing.T) {
		for _, pos := range []string{"d2", "d8", "d9"} {
			want := opsLetter(pos, map[string]int{"d2": 15, "d8": 150, "d9": -120}[pos],
				map[string]string{"d2": "H1", "d8": "H2"}[pos],
				map[string]string{"d2": "malformed XML", "d9": "unresolved"}[pos])
			got, err := s.GetDeadLetter(ctx, ids[pos])
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != ids[pos] || got.Source != want.Source || got.Partition != want.Partition || got.Position != pos ||
				got.MessageID != want.MessageID || !bytes.Equal(got.Message, want.Message) || got.Reason != want.Reason ||
				got.ReasonClass != want.ReasonClass || got.HotelCode != want.HotelCode || !got.ReceivedAt.Equal(want.ReceivedAt) ||
				got.MessageBytes != int64(len(want.Message)) || got.CreatedAt.IsZero() || got.ReplayedAt.IsZero() != (pos != "d2") {
				t.Errorf("GetDeadLetter(%s) = %+v, want %+v", pos, got, want)
			}
		}
		if _, err := s.GetDeadLetter(ctx, ids["d9"]+1000); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetDeadLetter(unknown) = %v, want ErrNotFound", err)
		}
	})
}

func TestSampleKeys(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t)
	ctx := testContext(t)
	stored := map[reservation.Key]bool{}
	var recs []sinks.Record
	for i := range 60 {
		r := fullRecord(t, fmt.Sprintf("H%d", i%4), fmt.Sprintf("S%03d", i), at(i), "1")
		recs = append(recs, r)
		stored[r.Reservation.Key()] = true
	}
	if res, err := s.Write(ctx, recs); err != nil || slices.ContainsFunc(res, func(r sinks.Result) bool { return r.Outcome != sinks.Stored }) {
		t.Fatalf("Write: %s, %v", outcomes(res), err)
	}
	check := func(t *testing.T, keys []reservation.Key, n, min int) {
		t.Helper()
		seen := map[reservation.Key]bool{}
		for _, k := range keys {
			if !stored[k] || seen[k] {
				t.Errorf("key %v: not stored, or twice", k)
			}
			seen[k] = true
		}
		if len(keys) > n || len(keys) < min {
			t.Errorf("%d keys, want %d to %d", len(keys), min, n)
		}
	}
	cases := []struct {
		name    string
		n       int
		small   float64
		analyse bool
		atLeast int
	}{
		// Not analysed yet (estimate -1): shuffled whole.
		{"small table", 5, sampleSmallTable, false, 5},
		{"more than stored", 100, sampleSmallTable, false, 60},
		{"none", 0, sampleSmallTable, false, 0},
		// Sampled by pages: 4n over an estimate under 4n reads every page.
		{"pages, all", 5, -2, false, 5},
		{"pages, analysed, whole", 20, 1, true, 20},
		// 4*5 rows of an estimated 60: a third of the pages, maybe none.
		{"pages, analysed, part", 5, 1, true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.analyse {
				if _, err := s.pool.Exec(ctx, `ANALYZE reservations`); err != nil {
					t.Fatal(err)
				}
			}
			keys, err := s.sampleKeys(ctx, c.n, c.small)
			if err != nil {
				t.Fatal(err)
			}
			check(t, keys, c.n, c.atLeast)
		})
	}
	keys, err := s.SampleKeys(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	check(t, keys, 7, 7)
	// Two samples differ (the chance that 7 of 60 come out the same is
	// negligible, and a retry makes it smaller).
	differ := false
	for range 3 {
		again, err := s.SampleKeys(ctx, 7)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(again, keys) {
			differ = true
			break
		}
	}
	if !differ {
		t.Errorf("SampleKeys returned %v three times more: not random", keys)
	}
}
