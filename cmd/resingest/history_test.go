package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/sinks/postgres"
)

// TestHistory: after a worker stored a folder of messages, `history`
// lists every message of a reservation with several versions, oldest
// first, with the version Postgres holds; bad arguments are refused by
// name.
func TestHistory(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url := testenv.PostgresSchema(t)
	pg, err := postgres.New(ctx, url, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if _, err := pg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// A small corpus where reservations get several versions.
	g := corpus.New(corpus.Options{Seed: 17, Hotels: 3, ModifyRatio: 0.4, CancelRatio: 0.1})
	dir := t.TempDir()
	files := map[string][]string{} // hotel/confirmation -> file names, in order
	for i := range 60 {
		m := g.Next()
		name := fmt.Sprintf("msg-%03d.xml", i)
		if err := os.WriteFile(filepath.Join(dir, name), m.XML, 0o600); err != nil {
			t.Fatal(err)
		}
		files[m.Hotel+"/"+m.Key] = append(files[m.Hotel+"/"+m.Key], name)
	}
	var key string
	for k, names := range files {
		if len(names) >= 3 && (key == "" || k < key) {
			key = k
		}
	}
	if key == "" {
		t.Fatal("the corpus has no reservation with three messages; change the seed")
	}
	if _, stderr, code := runCLIOut(t, "consume", "--source", "file", "--path", dir, "--sinks", "postgres", "--pg-url", url); code != 0 {
		t.Fatalf("consume: exit %d\n%s", code, stderr)
	}
	hotel, conf, _ := strings.Cut(key, "/")

	out, stderr, code := runCLIOut(t, "history", hotel, conf, "--pg-url", url)
	if code != 0 {
		t.Fatalf("history: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(out, fmt.Sprintf("reservation %s / %s: %d message(s)", hotel, conf, len(files[key]))) {
		t.Errorf("history of %s (%d messages):\n%s", key, len(files[key]), out)
	}
	if !strings.Contains(out, "postgres: version ") {
		t.Errorf("history does not show the stored version:\n%s", out)
	}

	out, stderr, code = runCLIOut(t, "history", hotel, conf, "--pg-url", url, "--format", "json")
	if code != 0 {
		t.Fatalf("history --format json: exit %d\n%s", code, stderr)
	}
	var rep historyReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("history --format json: %v\n%s", err, out)
	}
	if len(rep.Timeline) != len(files[key]) || len(rep.Stores) != 1 || !rep.Stores[0].Found {
		t.Fatalf("history of %s: %d entries, stores %+v; want %d and the Postgres version", key, len(rep.Timeline),
			rep.Stores, len(files[key]))
	}
	newest := ""
	for i, e := range rep.Timeline {
		if i > 0 && e.ReceivedAt.Before(rep.Timeline[i-1].ReceivedAt) {
			t.Errorf("entry %d received before entry %d", i, i-1)
		}
		if e.HotelCode != hotel || e.Source != "file" || e.Outcome == "" || e.Action == "" || e.Mapping != "ota2003" {
			t.Errorf("entry %d: %+v", i, e)
		}
		if e.Outcome == "stored" && e.Version > newest {
			newest = e.Version
		}
	}
	if rep.Stores[0].Version != newest {
		t.Errorf("postgres holds %s, the newest stored version in the history is %s", rep.Stores[0].Version, newest)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"history", hotel}, "accepts 2 arg"},
		{[]string{"history", hotel, conf, "--pg-url", url, "--format", "xml"}, "--format"},
		{[]string{"history", hotel, conf, "--pg-url", url, "--limit", "0"}, "--limit"},
		{[]string{"history", "H\n1", conf, "--pg-url", url}, "HOTEL_CODE"},
		{[]string{"history", hotel, "C\x1b1", "--pg-url", url}, "CONFIRMATION"},
		{[]string{"history", hotel, "\xff\xfe", "--pg-url", url}, "CONFIRMATION"},
	} {
		if _, stderr, code := runCLIOut(t, tc.args...); code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d %q, want an error naming %s", tc.args, code, stderr, tc.want)
		}
	}
}
