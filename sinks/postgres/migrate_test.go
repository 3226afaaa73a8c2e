package postgres

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/internal/testenv"
)

func TestMigrationsAreWellFormed(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("migrations %v: want a list starting at version 1", ms)
	}
	for i, m := range ms {
		if i > 0 && m.Version <= ms[i-1].Version {
			t.Errorf("%s is not after %s", m.Name, ms[i-1].Name)
		}
		if strings.TrimSpace(m.SQL) == "" {
			t.Errorf("%s is empty", m.Name)
		}
	}
}

func TestMigrateAppliesOnceEvenConcurrently(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresSchema(t)
	ctx := testContext(t)
	all, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}

	const migrators = 4
	var wg sync.WaitGroup
	var mu sync.Mutex
	applied := map[string]int{}
	for range migrators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ms, err := MigrateURL(ctx, url)
			if err != nil {
				t.Errorf("MigrateURL: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, m := range ms {
				applied[m.Name]++
			}
		}()
	}
	wg.Wait()
	for _, m := range all {
		if applied[m.Name] != 1 {
			t.Errorf("%s applied %d times by %d concurrent migrators, want once", m.Name, applied[m.Name], migrators)
		}
	}

	again, err := MigrateURL(ctx, url)
	if err != nil || len(again) != 0 {
		t.Fatalf("re-run applied %v (%v), want nothing", again, err)
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var versions int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if versions != len(all) {
		t.Errorf("schema_migrations has %d rows, want %d", versions, len(all))
	}
	for _, table := range []string{"reservations", "reservation_room_stays", "reservation_guests",
		"reservation_external_ids", "audit", "dead_letters"} {
		var exists bool
		if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil || !exists {
			t.Errorf("table %s missing after migrate (%v)", table, err)
		}
	}
}

// The tables go to the first schema on the search_path, so several
// schemas of one database can each hold their own copy.
func TestMigrateHonoursSearchPath(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresSchema(t)
	ctx := testContext(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `CREATE SCHEMA tenant_a`); err != nil {
		t.Fatal(err)
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	if _, err := MigrateURL(ctx, url+sep+"search_path=tenant_a"); err != nil {
		t.Fatalf("MigrateURL(search_path=tenant_a): %v", err)
	}
	var inTenant, inPublic bool
	err = conn.QueryRow(ctx, `SELECT to_regclass('tenant_a.reservations') IS NOT NULL,
		to_regclass('public.reservations') IS NOT NULL`).Scan(&inTenant, &inPublic)
	if err != nil {
		t.Fatal(err)
	}
	if !inTenant || inPublic {
		t.Errorf("reservations in tenant_a = %v, in public = %v; want true, false", inTenant, inPublic)
	}
}
