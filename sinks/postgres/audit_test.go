package postgres

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestAuditRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t)
	ctx := testContext(t)

	received := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	rows := []AuditRow{
		{MessageID: "m1", Source: "kafka", Partition: "3", Position: "1001", ReceivedAt: received,
			StoredAt: received.Add(time.Second), Outcome: "stored", Latency: 250 * time.Millisecond},
		{MessageID: "m2", Source: "kinesis", Partition: "shardId-000000000001",
			Position: "49590338271490256608559692538361571095921575989136588898", ReceivedAt: received,
			Outcome: "failed", Error: "record 0: invalid reservation: arrival: not a YYYY-MM-DD date"},
		{MessageID: "m1", Source: "kafka", Partition: "3", Position: "1002", ReceivedAt: received,
			StoredAt: received.Add(2 * time.Second), Outcome: "duplicate"},
	}
	before := time.Now()
	if err := s.WriteAudit(ctx, rows); err != nil {
		t.Fatalf("WriteAudit: %v", err)
	}
	if err := s.WriteAudit(ctx, nil); err != nil {
		t.Fatalf("WriteAudit(nil): %v", err)
	}
	got, err := s.ListAudit(ctx, AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("ListAudit returned %d rows, want %d", len(got), len(rows))
	}
	for i, want := range rows {
		g := got[i]
		if want.StoredAt.IsZero() {
			// The store fills it in: now, give or take clock skew.
			if g.StoredAt.Before(before.Add(-time.Minute)) {
				t.Errorf("row %d: stored_at %v not set to now", i, g.StoredAt)
			}
			want.StoredAt = g.StoredAt
		}
		if !g.ReceivedAt.Equal(want.ReceivedAt) || !g.StoredAt.Equal(want.StoredAt) {
			t.Errorf("row %d: times %v/%v, want %v/%v", i, g.ReceivedAt, g.StoredAt, want.ReceivedAt, want.StoredAt)
		}
		g.ReceivedAt, g.StoredAt = want.ReceivedAt, want.StoredAt
		if !reflect.DeepEqual(g.AuditRow, want) {
			t.Errorf("row %d: %+v, want %+v", i, g.AuditRow, want)
		}
	}
	byMsg, err := s.ListAudit(ctx, AuditFilter{MessageID: "m1"})
	if err != nil || len(byMsg) != 2 || byMsg[1].Outcome != "duplicate" {
		t.Errorf("ListAudit(m1) = %+v (%v), want the two rows of m1", byMsg, err)
	}
	page, err := s.ListAudit(ctx, AuditFilter{AfterID: got[0].ID, Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != got[1].ID {
		t.Errorf("ListAudit(after first, limit 1) = %+v (%v), want the second row", page, err)
	}
}

func TestDeadLetterRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := newTestSink(t)
	ctx := testContext(t)

	received := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	letters := []DeadLetter{
		{Source: "kafka", Partition: "0", Position: "17", MessageID: "bad-1",
			Message: []byte("<OTA_HotelResNotifRQ><broken"), Reason: "xml: unexpected EOF", ReceivedAt: received},
		{Source: "kinesis", Partition: "shardId-000000000000", Position: "4959", Message: []byte{0, 1, 2, 0xff},
			Reason: "not XML", ReceivedAt: received.Add(time.Hour)},
	}
	var ids []int64
	for _, d := range letters {
		id, err := s.DeadLetter(ctx, d)
		if err != nil {
			t.Fatalf("DeadLetter: %v", err)
		}
		ids = append(ids, id)
	}
	if ids[0] == ids[1] || ids[0] == 0 {
		t.Fatalf("ids %v: want two distinct ids", ids)
	}

	// A batch of letters goes in one statement, nil message included.
	if err := s.WriteDeadLetters(ctx, []DeadLetter{
		{Source: "file", Partition: "in/a.xml", Message: []byte("<x/>"), Reason: "no reservation", ReceivedAt: received},
		{Source: "file", Partition: "in/b.xml", Reason: "empty", ReceivedAt: received},
	}); err != nil {
		t.Fatalf("WriteDeadLetters: %v", err)
	}
	if err := s.WriteDeadLetters(ctx, nil); err != nil {
		t.Fatalf("WriteDeadLetters(nil): %v", err)
	}
	files, err := s.ListDeadLetters(ctx, DeadLetterFilter{Source: "file"})
	if err != nil || len(files) != 2 || files[0].Partition != "in/a.xml" || string(files[0].Message) != "<x/>" ||
		files[1].Reason != "empty" || len(files[1].Message) != 0 || !files[1].ReceivedAt.Equal(received) {
		t.Fatalf("letters written in a batch: %+v (%v)", files, err)
	}

	all, err := s.ListDeadLetters(ctx, DeadLetterFilter{Source: "kafka"})
	if err == nil {
		more, err2 := s.ListDeadLetters(ctx, DeadLetterFilter{Source: "kinesis"})
		all, err = append(all, more...), err2
	}
	if err != nil || len(all) != 2 {
		t.Fatalf("ListDeadLetters = %d letters (%v), want 2", len(all), err)
	}
	for i, want := range letters {
		g := all[i]
		if g.ID != ids[i] || g.Source != want.Source || g.Partition != want.Partition ||
			g.Position != want.Position || g.MessageID != want.MessageID || g.Reason != want.Reason ||
			!bytes.Equal(g.Message, want.Message) || !g.ReceivedAt.Equal(want.ReceivedAt) ||
			g.CreatedAt.IsZero() || !g.ReplayedAt.IsZero() {
			t.Errorf("letter %d: %+v, want %+v", i, g, want)
		}
	}

	if err := s.MarkReplayed(ctx, ids[0]); err != nil {
		t.Fatalf("MarkReplayed: %v", err)
	}
	if err := s.MarkReplayed(ctx, ids[0]); err != nil {
		t.Fatalf("MarkReplayed twice: %v", err)
	}
	if err := s.MarkReplayed(ctx, ids[1]+1000); !errors.Is(err, ErrNotFound) {
		t.Errorf("MarkReplayed(unknown) = %v, want ErrNotFound", err)
	}

	tests := []struct {
		name string
		f    DeadLetterFilter
		want []int64
	}{
		{"pending only", DeadLetterFilter{PendingOnly: true, Source: "kinesis"}, ids[1:]},
		{"pending kafka", DeadLetterFilter{PendingOnly: true, Source: "kafka"}, nil},
		{"by source", DeadLetterFilter{Source: "kafka"}, ids[:1]},
		{"after id", DeadLetterFilter{AfterID: ids[0], Limit: 1}, ids[1:]},
		{"limit", DeadLetterFilter{Limit: 1}, ids[:1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListDeadLetters(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs []int64
			for _, d := range got {
				gotIDs = append(gotIDs, d.ID)
			}
			if len(gotIDs) != len(tt.want) || (len(gotIDs) > 0 && gotIDs[0] != tt.want[0]) {
				t.Errorf("ids %v, want %v", gotIDs, tt.want)
			}
		})
	}
	replayed, _ := s.ListDeadLetters(ctx, DeadLetterFilter{Source: "kafka"})
	if len(replayed) != 1 || replayed[0].ReplayedAt.IsZero() {
		t.Errorf("replayed letter %+v: want ReplayedAt set", replayed)
	}
}

// TestLedgerIgnoresRedelivery: a message redelivered after a crash gets no
// second audit row and no second dead letter.
func TestLedgerIgnoresRedelivery(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestSink(t)
	now := time.Now().UTC()
	row := AuditRow{MessageID: "m1", Source: "kafka", Partition: "t/0", Position: "7", ReceivedAt: now, Outcome: "stored"}
	letter := DeadLetter{Source: "kafka", Partition: "t/0", Position: "8", Message: []byte("<x"), Reason: "truncated", ReceivedAt: now}
	for i := 0; i < 3; i++ {
		if err := s.WriteAudit(ctx, []AuditRow{row, row}); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteDeadLetters(ctx, []DeadLetter{letter}); err != nil {
			t.Fatal(err)
		}
	}
	id1, err := s.DeadLetter(ctx, letter)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := s.DeadLetter(ctx, letter)
	if err != nil || id1 != id2 {
		t.Fatalf("DeadLetter twice: ids %d, %d, err %v", id1, id2, err)
	}
	var audits, letters int
	if err := s.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM audit), (SELECT count(*) FROM dead_letters)`).Scan(&audits, &letters); err != nil {
		t.Fatal(err)
	}
	if audits != 1 || letters != 1 {
		t.Errorf("audit rows, dead letters = %d, %d; want 1, 1", audits, letters)
	}
}
