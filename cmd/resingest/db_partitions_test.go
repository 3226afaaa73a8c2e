package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/sinks/postgres"
)

func TestDBPartitionsCommand(t *testing.T) {
	url := testenv.PostgresSchema(t)
	out, stderr, code := runCLIOut(t, "db", "migrate", "--skip-dynamo", "--pg-url", url)
	if code != 0 {
		t.Fatalf("db migrate: exit %d\n%s%s", code, out, stderr)
	}
	month := time.Now().UTC().Format("200601")
	if !strings.Contains(out, "postgres: created partition audit_"+month) {
		t.Fatalf("db migrate did not create this month's audit partition:\n%s", out)
	}
	// Rows of an old month, then a retention that drops it.
	ctx := context.Background()
	s, err := postgres.New(ctx, url, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old := time.Now().UTC().AddDate(0, -6, 0)
	if err := s.WriteAudit(ctx, []postgres.AuditRow{{Source: "kafka", Partition: "t/0", Position: "1", ReceivedAt: old, Outcome: "stored"}}); err != nil {
		t.Fatal(err)
	}
	oldPart := "audit_" + old.Format("200601")
	out, stderr, code = runCLIOut(t, "db", "partitions", "--pg-url", url, "--audit-retention-months", "2", "--dry-run")
	if code != 0 {
		t.Fatalf("db partitions --dry-run: exit %d: %s", code, stderr)
	}
	// The dry run creates nothing: the old row's month is still in the
	// default partition, so there is nothing to drop yet either.
	if strings.Contains(out, "created") || strings.Contains(out, oldPart) {
		t.Fatalf("dry run changed something:\n%s", out)
	}
	out, stderr, code = runCLIOut(t, "db", "partitions", "--pg-url", url)
	if code != 0 || !strings.Contains(out, "created "+oldPart) {
		t.Fatalf("db partitions: exit %d %s\n%s", code, stderr, out)
	}
	out, stderr, code = runCLIOut(t, "db", "partitions", "--pg-url", url, "--audit-retention-months", "2", "--dry-run")
	if code != 0 || !strings.Contains(out, oldPart) || !strings.Contains(out, "would be dropped") {
		t.Fatalf("dry run does not say %s would be dropped: exit %d %s\n%s", oldPart, code, stderr, out)
	}
	out, stderr, code = runCLIOut(t, "db", "partitions", "--pg-url", url, "--audit-retention-months", "2")
	if code != 0 || !strings.Contains(out, "dropped "+oldPart) {
		t.Fatalf("db partitions with retention: exit %d %s\n%s", code, stderr, out)
	}
	var rows int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM audit`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("audit rows after the retention: %d, %v; want 0", rows, err)
	}
	for _, bad := range [][]string{
		{"--audit-retention-months", "-1"},
		{"--partitions-ahead", "25"},
	} {
		_, stderr, code := runCLIOut(t, append([]string{"db", "partitions", "--pg-url", url}, bad...)...)
		if code == 0 || !strings.Contains(stderr, bad[0]) {
			t.Errorf("db partitions %v: exit %d %q, want an error naming %s", bad, code, stderr, bad[0])
		}
	}
}

// TestConsumePartitionFlags: the worker's partition upkeep settings are
// validated before anything connects (nothing listens at the URL), and
// documented in its help.
func TestConsumePartitionFlags(t *testing.T) {
	t.Parallel()
	const url = "postgres://nobody@127.0.0.1:1/none"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--partitions-ahead", "-1"}, "--partitions-ahead -1"},
		{[]string{"--partitions-ahead", "25"}, "--partitions-ahead 25"},
		{[]string{"--audit-retention-months", "-2"}, "--audit-retention-months -2"},
		{[]string{"--pii-access-retention-months", "-1"}, "--pii-access-retention-months -1"},
		{[]string{"--partition-upkeep-interval", "0s"}, "--partition-upkeep-interval must be positive"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"consume", "--source", "file", "--path", t.TempDir(), "--pg-url", url}, tc.args...)
			_, _, err := dlqRun(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
	out, _, err := dlqRun(t, "consume", "--help")
	for _, flag := range []string{"--partitions-ahead", "--audit-retention-months", "--dead-letter-retention-months", "--pii-access-retention-months", "--partition-upkeep-interval"} {
		if err != nil || !strings.Contains(out, flag) {
			t.Errorf("consume --help does not document %s (%v)", flag, err)
		}
	}
}
