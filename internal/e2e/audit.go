package e2e

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/resingest/resingest/redact"
	"github.com/resingest/resingest/sinks/postgres"
)

// Outcome names the audit trail uses (pipeline.Outcome values; repeated
// here because this package does not import pipeline).
const (
	OutcomeStored       = "stored"
	OutcomeStale        = "stale"
	OutcomeDuplicate    = "duplicate"
	OutcomeDeadLettered = "dead_lettered"
	// OutcomeResolved: a record without a hotel code was applied to the
	// one reservation with its confirmation (key resolution).
	OutcomeResolved = "resolved"
)

// AuditRows returns every audit row of the test's database, in id order.
func (s *Stores) AuditRows(t testing.TB) []postgres.AuditEntry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	var all []postgres.AuditEntry
	for {
		f := postgres.AuditFilter{Limit: 1000}
		if len(all) > 0 {
			f.AfterID = all[len(all)-1].ID
		}
		page, err := s.Postgres(t).ListAudit(ctx, f)
		if err != nil {
			t.Fatalf("list audit: %v", err)
		}
		all = append(all, page...)
		if len(page) < f.Limit {
			return all
		}
	}
}

// DeadLetters returns every dead letter of the test's database, in id
// order.
func (s *Stores) DeadLetters(t testing.TB) []postgres.DeadLetter {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	var all []postgres.DeadLetter
	for {
		f := postgres.DeadLetterFilter{Limit: 1000}
		if len(all) > 0 {
			f.AfterID = all[len(all)-1].ID
		}
		page, err := s.Postgres(t).ListDeadLetters(ctx, f)
		if err != nil {
			t.Fatalf("list dead letters: %v", err)
		}
		all = append(all, page...)
		if len(page) < f.Limit {
			return all
		}
	}
}

// AssertAudit checks the audit trail and the dead letters after every file
// of c went through the pipeline once or more (redeliveries included):
//   - exactly one audit row per message: len(c.Files) rows, each with a
//     source position, no (source, partition, position) twice, and no
//     message id (the generator's are unique) twice;
//   - outcomes are stored, stale, duplicate, resolved or dead_lettered
//     (never held: every held record must have been settled); exactly the
//     poison messages are dead_lettered, with the error recorded, and the
//     others have no error;
//   - exactly one dead letter per poison message, matched by content (the
//     redacted message), whose reason starts with the poison's Reason and
//     whose position is that of a dead_lettered audit row;
//   - no dead letter (message or reason) and no audit error holds a run of
//     13-19 digits that passes the Luhn check (a card number).
//
// It returns the audit rows for further checks.
func AssertAudit(t testing.TB, s *Stores, c *Corpus) []postgres.AuditEntry {
	t.Helper()
	rows := s.AuditRows(t)
	if len(rows) != len(c.Files) {
		t.Errorf("audit holds %d rows, want one per message: %d", len(rows), len(c.Files))
	}
	type position struct{ source, partition, position string }
	seen := make(map[position]bool, len(rows))
	ids := make(map[string]bool, len(rows))
	deadRows := make(map[position]bool)
	outcomes := make(map[string]int)
	for _, r := range rows {
		p := position{r.Source, r.Partition, r.Position}
		switch {
		case r.Position == "":
			t.Errorf("audit row %d has no source position", r.ID)
		case seen[p]:
			t.Errorf("audit has two rows for %s %s@%s", r.Source, r.Partition, r.Position)
		}
		seen[p] = true
		if r.MessageID != "" {
			if ids[r.MessageID] {
				t.Errorf("audit has two rows for message id %s (redelivery counted twice?)", r.MessageID)
			}
			ids[r.MessageID] = true
		}
		outcomes[r.Outcome]++
		switch r.Outcome {
		case OutcomeStored, OutcomeStale, OutcomeDuplicate, OutcomeResolved:
			if r.Error != "" {
				t.Errorf("audit row %d (%s) has an error: %s", r.ID, r.Outcome, r.Error)
			}
		case OutcomeDeadLettered:
			deadRows[p] = true
			if r.Error == "" {
				t.Errorf("audit row %d is dead_lettered without an error", r.ID)
			}
		default:
			t.Errorf("audit row %d has unknown outcome %q", r.ID, r.Outcome)
		}
		if cardNumber(r.Error) != "" || c.CardIn(r.Error) != "" {
			t.Errorf("audit row %d's error holds a card number", r.ID)
		}
	}
	if outcomes[OutcomeDeadLettered] != len(c.Poison) {
		t.Errorf("audit: %d messages dead_lettered, want %d (outcomes %v)", outcomes[OutcomeDeadLettered], len(c.Poison), outcomes)
	}

	letters := s.DeadLetters(t)
	if len(letters) != len(c.Poison) {
		t.Errorf("%d dead letters, want one per poison message: %d", len(letters), len(c.Poison))
	}
	byContent := make(map[string][]int) // redacted content -> letter indexes
	for i, d := range letters {
		byContent[string(d.Message)] = append(byContent[string(d.Message)], i)
		if c.CardIn(string(d.Message)) != "" || cardNumber(d.Reason) != "" || c.CardIn(d.Reason) != "" {
			t.Errorf("dead letter %d holds a full card number", d.ID)
		}
		if !deadRows[position{d.Source, d.Partition, d.Position}] {
			t.Errorf("dead letter %d (%s@%s) has no dead_lettered audit row", d.ID, d.Partition, d.Position)
		}
	}
	for _, p := range c.Poison {
		raw, err := os.ReadFile(p.File)
		if err != nil {
			t.Fatal(err)
		}
		matches := byContent[string(redact.Redact(raw))]
		if len(matches) != 1 {
			t.Errorf("poison %s (%s): %d dead letters with its redacted content, want 1", p.Kind, p.File, len(matches))
			continue
		}
		if d := letters[matches[0]]; !strings.HasPrefix(d.Reason, p.Reason) {
			t.Errorf("poison %s (%s): dead letter reason %q, want it to start with %q", p.Kind, p.File, d.Reason, p.Reason)
		}
	}
	return rows
}

// digitRuns are candidate card numbers (not part of a longer digit run).
var digitRuns = regexp.MustCompile(`\d{13,}`)

// cardNumber returns the first run of 13-19 digits in s that passes the
// Luhn check, or "".
func cardNumber(s string) string {
	for _, m := range digitRuns.FindAllString(s, -1) {
		if len(m) <= 19 && luhn(m) {
			return m
		}
	}
	return ""
}

func luhn(digits string) bool {
	sum := 0
	for i := 0; i < len(digits); i++ {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}
