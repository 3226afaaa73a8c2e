package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/postgres"
)

// dlqPAN is the card number of dlqMessage; only "1111" may survive.
const dlqPAN = "4111111111111111"

// dlqMessage is an OTA 2003/05 message with root element root:
// OTA_HotelResNotifRQ is known to ota2003, OTA_HotelResSyncRQ only to the
// mapping of dlqMapping, OTA_ReadRQ to neither.
func dlqMessage(root, conf string) []byte {
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<%[1]s xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="echo-%[2]s" TimeStamp="2026-05-01T10:00:00Z">
  <HotelReservations>
    <HotelReservation CreateDateTime="2026-04-30T09:00:00Z" ResStatus="Commit">
      <UniqueID Type="14" ID="%[2]s"/>
      <RoomStays><RoomStay>
        <GuestCounts><GuestCount AgeQualifyingCode="10" Count="2"/></GuestCounts>
        <TimeSpan Start="2026-06-01" End="2026-06-03"/>
        <BasicPropertyInfo HotelCode="HX" ChainCode="RC"/>
      </RoomStay></RoomStays>
      <ResGuests><ResGuest><Profiles><ProfileInfo><Profile><Customer>
        <PersonName><GivenName>Ann</GivenName><Surname>Zed</Surname></PersonName>
      </Customer></Profile></ProfileInfo></Profiles></ResGuest></ResGuests>
      <ResGlobalInfo><Guarantee><GuaranteesAccepted><GuaranteeAccepted>
        <PaymentCard CardCode="VI" CardNumber="%[3]s" SeriesCode="123" ExpireDate="1228"/>
      </GuaranteeAccepted></GuaranteesAccepted></Guarantee></ResGlobalInfo>
    </HotelReservation>
  </HotelReservations>
</%[1]s>`, root, conf, dlqPAN)
}

// dlqMapping writes ota2003.yaml with OTA_HotelResSyncRQ added to its
// roots: the fixed mapping an operator would replay with.
func dlqMapping(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "parse", "mappings", "ota2003.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const last = "    - OTA_CancelRS\n"
	if !bytes.Contains(src, []byte(last)) {
		t.Fatalf("ota2003.yaml no longer lists %q under match.roots; update the test", strings.TrimSpace(last))
	}
	out := bytes.Replace(src, []byte(last), []byte(last+"    - OTA_HotelResSyncRQ\n"), 1)
	path := filepath.Join(t.TempDir(), "ota2003-sync.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// dlqRun runs the root command with args and returns stdout and stderr.
func dlqRun(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return stdout.String(), stderr.String(), err
}

// dlqSetup returns a migrated database holding two dead letters, made by
// 'consume' over three files: a good message (stored), one the default
// mapping rejects but dlqMapping accepts (letter 1), and one nobody
// accepts (letter 2).
func dlqSetup(t *testing.T) (*postgres.Sink, string) {
	t.Helper()
	url := testenv.PostgresSchema(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pg, err := postgres.New(ctx, url, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	if _, err := pg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, msg := range map[string][]byte{
		"1-good.xml": dlqMessage("OTA_HotelResNotifRQ", "GOOD1"),
		"2-sync.xml": dlqMessage("OTA_HotelResSyncRQ", "SYNC1"),
		"3-read.xml": dlqMessage("OTA_ReadRQ", "READ1"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), msg, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, stderr, err := dlqRun(t, "consume", "--source", "file", "--path", dir, "--sinks", "postgres", "--pg-url", url); err != nil {
		t.Fatalf("consume: %v\n%s", err, stderr)
	}
	letters, err := pg.ListDeadLetters(ctx, postgres.DeadLetterFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 2 || letters[0].ID != 1 || letters[1].ID != 2 {
		t.Fatalf("setup: %d dead letters, want letters 1 and 2", len(letters))
	}
	return pg, url
}

// dlqExitCode is the exit status err asks for (0 for nil, 1 for others).
func dlqExitCode(err error) int {
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	return 1
}

func TestDLQListAndShow(t *testing.T) {
	t.Parallel()
	_, url := dlqSetup(t)

	out, _, err := dlqRun(t, "dlq", "list", "--pg-url", url)
	if err != nil {
		t.Fatalf("dlq list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[0], "REPLAYED_AT") {
		t.Fatalf("dlq list printed %d lines, want a header and 2 letters:\n%s", len(lines), out)
	}
	// The file source's position is the FNV-1a hash of the file name.
	h := fnv.New64a()
	h.Write([]byte("2-sync.xml"))
	syncPos := strconv.FormatUint(h.Sum64(), 10)
	if f := strings.Fields(lines[1]); f[0] != "1" || f[1] != "file" || f[3] != syncPos || f[5] != "-" ||
		!strings.Contains(lines[1], "unknown message type: OTA_HotelResSyncRQ") {
		t.Errorf("first row %q, want letter 1 from 2-sync.xml (position %s), pending, with its reason", lines[1], syncPos)
	}
	for _, leak := range []string{"<", "Ann", "Zed", "SYNC1", "1111"} {
		if strings.Contains(out, leak) {
			t.Errorf("dlq list printed message content %q:\n%s", leak, out)
		}
	}

	out, _, err = dlqRun(t, "dlq", "list", "--pg-url", url, "--json", "--limit", "1")
	if err != nil {
		t.Fatal(err)
	}
	var row map[string]any
	if err := json.Unmarshal([]byte(out), &row); err != nil {
		t.Fatalf("dlq list --json --limit 1 is not one JSON object: %v\n%s", err, out)
	}
	if row["id"] != float64(1) || row["replayed_at"] != "" || row["source"] != "file" || row["message"] != nil {
		t.Errorf("dlq list --json row %v, want letter 1, pending, without its message", row)
	}

	out, _, err = dlqRun(t, "dlq", "show", "2", "--pg-url", url)
	if err != nil {
		t.Fatalf("dlq show: %v", err)
	}
	for _, want := range []string{"id:", "replayed_at: - (pending)", "reason:", "unknown message type: OTA_ReadRQ", "<OTA_ReadRQ", "1111\""} {
		if !strings.Contains(out, want) {
			t.Errorf("dlq show 2 lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, dlqPAN) {
		t.Errorf("dlq show printed the full card number")
	}
	out, _, err = dlqRun(t, "dlq", "show", "2", "--json", "--pg-url", url)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &row); err != nil || !strings.HasPrefix(fmt.Sprint(row["message"]), "<?xml") {
		t.Errorf("dlq show --json: %v, message %v", err, row["message"])
	}
	if _, _, err := dlqRun(t, "dlq", "show", "3", "--pg-url", url); !errors.Is(err, pipeline.ErrLetterNotFound) {
		t.Errorf("dlq show 3: %v, want ErrLetterNotFound", err)
	}
}

func TestDLQReplay(t *testing.T) {
	t.Parallel()
	pg, url := dlqSetup(t)
	mapping := dlqMapping(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	syncKey := reservation.Key{HotelCode: "HX", Confirmation: "SYNC1"}
	state := func() (pending []int64, replayAudit int) {
		t.Helper()
		letters, err := pg.ListDeadLetters(ctx, postgres.DeadLetterFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(letters) != 2 {
			t.Fatalf("%d dead letters, want the original 2", len(letters))
		}
		for _, d := range letters {
			if d.ReplayedAt.IsZero() {
				pending = append(pending, d.ID)
			}
		}
		audit, err := pg.ListAudit(ctx, postgres.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range audit {
			if a.Source == "dlq" {
				if a.Position != "1" || a.Outcome != "stored" {
					t.Errorf("replay audit row %+v, want letter 1 stored", a)
				}
				replayAudit++
			}
		}
		return pending, replayAudit
	}

	// Dry run: says what would happen, changes nothing, exit 1 (one would fail).
	out, _, err := dlqRun(t, "dlq", "replay", "--dry-run", "--mapping", mapping, "--sinks", "postgres", "--pg-url", url)
	if code := dlqExitCode(err); code != 1 {
		t.Fatalf("dry run: exit %d (%v), want 1\n%s", code, err, out)
	}
	for _, want := range []string{"dry run", "2 dead letters: 1 would be replayed (reservations: 1), 1 would still fail", "unknown message type: OTA_ReadRQ"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if pending, n := state(); len(pending) != 2 || n != 0 {
		t.Errorf("after dry run: pending %v, %d replay audit rows; want both pending, none", pending, n)
	}
	if _, _, err := pg.Get(ctx, syncKey); !errors.Is(err, postgres.ErrNotFound) {
		t.Errorf("dry run stored the reservation (Get: %v)", err)
	}

	// Without the fixed mapping nothing changes.
	out, _, err = dlqRun(t, "dlq", "replay", "--sinks", "postgres", "--pg-url", url)
	if code := dlqExitCode(err); code != 1 || !strings.Contains(out, "0 replayed, 2 still failing") {
		t.Errorf("replay with the default mapping: exit %d, output:\n%s", code, out)
	}

	// With it, letter 1 is stored and marked, letter 2 stays pending.
	out, _, err = dlqRun(t, "dlq", "replay", "--mapping", mapping, "--sinks", "postgres", "--pg-url", url)
	if code := dlqExitCode(err); code != 1 {
		t.Fatalf("replay: exit %d (%v), want 1\n%s", code, err, out)
	}
	if !strings.Contains(out, "2 dead letters: 1 replayed (stored 1), 1 still failing") {
		t.Errorf("replay output:\n%s", out)
	}
	got, _, err := pg.Get(ctx, syncKey)
	if err != nil {
		t.Fatalf("replayed reservation not stored: %v", err)
	}
	if got.Payment.Last4 != "1111" {
		t.Errorf("replayed reservation payment %+v, want last4 1111", got.Payment)
	}
	if pending, n := state(); len(pending) != 1 || pending[0] != 2 || n != 1 {
		t.Errorf("after replay: pending %v, %d replay audit rows; want [2], 1", pending, n)
	}

	// Replaying again touches only letter 2, which still fails.
	out, _, _ = dlqRun(t, "dlq", "replay", "--mapping", mapping, "--sinks", "postgres", "--pg-url", url)
	if !strings.Contains(out, "1 dead letters: 0 replayed, 1 still failing") {
		t.Errorf("second replay output:\n%s", out)
	}
	if pending, n := state(); len(pending) != 1 || n != 1 {
		t.Errorf("after second replay: pending %v, %d replay audit rows; want [2], 1", pending, n)
	}
	out, _, err = dlqRun(t, "dlq", "list", "--pending", "--json", "--pg-url", url)
	if err != nil || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"id":2,`) {
		t.Errorf("dlq list --pending --json: %v\n%s", err, out)
	}

	// --id of a replayed letter is a clear error.
	_, _, err = dlqRun(t, "dlq", "replay", "--id", "1", "--mapping", mapping, "--sinks", "postgres", "--pg-url", url)
	if !errors.Is(err, pipeline.ErrLetterReplayed) {
		t.Errorf("replay --id 1 after replay: %v, want ErrLetterReplayed", err)
	}
}

func TestDLQRejectsBadInput(t *testing.T) {
	t.Parallel()
	// Every case must fail before connecting: nothing listens there.
	const url = "postgres://nobody@127.0.0.1:1/none"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"show non-number", []string{"dlq", "show", "abc"}, "not a dead-letter id"},
		{"show zero", []string{"dlq", "show", "0"}, "not a dead-letter id"},
		{"show without id", []string{"dlq", "show"}, "accepts 1 arg"},
		{"list negative limit", []string{"dlq", "list", "--limit", "-1"}, "--limit -1"},
		{"list stray argument", []string{"dlq", "list", "x"}, "unknown command"},
		{"replay negative limit", []string{"dlq", "replay", "--limit", "-1"}, "--limit -1"},
		{"replay id and limit", []string{"dlq", "replay", "--id", "3", "--limit", "2"}, "--id selects one letter"},
		{"replay bad batch", []string{"dlq", "replay", "--batch-size", "0"}, "--batch-size 0"},
		{"replay unknown sink", []string{"dlq", "replay", "--sinks", "nowhere"}, "unknown sink"},
		{"replay missing mapping", []string{"dlq", "replay", "--mapping", "/nonexistent/m.yaml", "--sinks", "postgres"}, "m.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := dlqRun(t, append(tc.args, "--pg-url", url)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
			}
		})
	}
}

// TestDLQEnvironment is not parallel: it sets RESINGEST_* variables.
func TestDLQEnvironment(t *testing.T) {
	_, url := dlqSetup(t)
	t.Setenv("RESINGEST_PG_URL", url)
	t.Setenv("RESINGEST_SOURCE", "kafka") // consume's --source: must not filter dlq commands
	t.Setenv("RESINGEST_LIMIT", "1")

	out, _, err := dlqRun(t, "dlq", "list", "--json")
	if err != nil {
		t.Fatalf("dlq list with RESINGEST_PG_URL: %v", err)
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("dlq list with RESINGEST_SOURCE=kafka RESINGEST_LIMIT=1 printed %d letters, want all 2 (selection flags are command-line only):\n%s", n, out)
	}
	if _, stderr, err := dlqRun(t, "dlq", "list", "--source", "kafka"); err != nil || !strings.Contains(stderr, "no dead letters match") {
		t.Errorf("dlq list --source kafka: %v, stderr %q", err, stderr)
	}
	out, _, err = dlqRun(t, "dlq", "show", strconv.Itoa(1))
	if err != nil || !strings.Contains(out, "<OTA_HotelResSyncRQ") {
		t.Errorf("dlq show 1 with RESINGEST_PG_URL: %v\n%s", err, out)
	}

	t.Setenv("RESINGEST_PG_URL", "")
	if _, _, err := dlqRun(t, "dlq", "list"); !errors.Is(err, errNoPGURL) {
		t.Errorf("dlq list without a URL: %v, want errNoPGURL", err)
	}
	if _, _, err := dlqRun(t, "dlq", "show", "1"); !errors.Is(err, errNoPGURL) {
		t.Errorf("dlq show without a URL: %v, want errNoPGURL", err)
	}
	if _, _, err := dlqRun(t, "dlq", "replay", "--sinks", "postgres"); err == nil || !strings.Contains(err.Error(), "RESINGEST_PG_URL") {
		t.Errorf("dlq replay without a URL: %v", err)
	}
}
