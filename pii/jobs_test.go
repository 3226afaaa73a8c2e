package pii_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/resingest/resingest/internal/e2e"
	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
	"github.com/resingest/resingest/sinks/dynamo"
)

var errCrash = errors.New("simulated crash")

// sealedRecords builds n reservations with two guests each, sealed under
// kr's current version.
func sealedRecords(t *testing.T, kr *pii.Keyring, n int, tag string) ([]sinks.Record, map[reservation.Key]reservation.Reservation) {
	t.Helper()
	want := map[reservation.Key]reservation.Reservation{}
	recs := make([]sinks.Record, n)
	for i := range recs {
		r := reservation.Reservation{
			MessageType: "OTA_HotelResNotifRQ", HotelCode: fmt.Sprintf("H%03d", i%7), Confirmation: fmt.Sprintf("C%05d", i),
			Status: "Book", Action: reservation.ActionCreate, CreatedAt: "2026-01-02T03:04:05Z", Arrival: "2026-03-01", Departure: "2026-03-04",
			Guests: []reservation.Guest{
				{Primary: true, GivenName: "Given" + tag, Surname: fmt.Sprintf("Surname%s%d", tag, i), Email: fmt.Sprintf("guest%d.%s@example.com", i, tag), Phone: "+44 20 7946 0000", LoyaltyNumber: fmt.Sprintf("L%d", i)},
				{GivenName: "Second", Surname: "Companion" + tag},
			},
			SpecialRequests: []reservation.SpecialRequest{{Code: "ACC", Name: "access", Text: "wheelchair " + tag}, {Code: "CRIB"}},
		}
		r.Normalize()
		v, err := reservation.VersionOf(&r, fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		guests, idx, err := kr.SealGuests(r.Guests)
		if err != nil {
			t.Fatal(err)
		}
		sealed := r
		sealed.Guests = guests
		recs[i] = sinks.Record{Reservation: sealed, Version: v, GuestIndexes: idx}
		want[r.Key()] = r
	}
	return recs, want
}

// keyedEnv returns isolated stores with keys initialised in their
// Postgres, and the keyring the Assert functions open values with.
func keyedEnv(t *testing.T) (*e2e.Stores, *pii.Keyring, pii.KEK) {
	t.Helper()
	env := e2e.Env(t)
	kr, kek := testenv.Keyring(t, env.Postgres(t))
	env.Keyring = kr
	return env, kr, kek
}

// crashAfter wraps rewrite so that it fails after n calls.
func crashAfter(n int, rewrite pii.GuestRewrite) pii.GuestRewrite {
	calls := 0
	return func(ctx context.Context, g []reservation.Guest) ([]reservation.Guest, []pii.GuestIndex, bool, error) {
		if calls++; calls > n {
			return nil, nil, false, errCrash
		}
		return rewrite(ctx, g)
	}
}

func writeBoth(t *testing.T, env *e2e.Stores, recs []sinks.Record) {
	t.Helper()
	for name, s := range map[string]interface {
		Write(context.Context, []sinks.Record) ([]sinks.Result, error)
	}{"postgres": env.Postgres(t), "dynamo": env.Dynamo(t)} {
		res, err := s.Write(t.Context(), recs)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, r := range res {
			if r.Outcome != sinks.Stored {
				t.Fatalf("%s: outcome %v (%v)", name, r.Outcome, r.Err)
			}
		}
	}
}

// TestReencryptInterruptedAndResumed crashes re-encryption part-way in both
// stores, writes a newer version of one reservation in between, resumes,
// and checks every value ends under the new version, the records read back
// unchanged, and the live write was not overwritten.
func TestReencryptInterruptedAndResumed(t *testing.T) {
	env, kr, kek := keyedEnv(t)
	ctx := t.Context()
	pg := env.Postgres(t)
	var err error
	recs, want := sealedRecords(t, kr, 60, "a")
	writeBoth(t, env, recs)
	if _, err := pii.Rotate(ctx, pg, kek); err != nil {
		t.Fatal(err)
	}
	if err := kr.Reload(ctx); err != nil {
		t.Fatal(err)
	}

	// Postgres: crash after 50 guest rows (batches of 20: two committed).
	const pgJob = "reencrypt-postgres:v2"
	if _, err := pg.RewriteGuests(ctx, pgJob, 20, crashAfter(50, kr.Reencrypt), nil); !errors.Is(err, errCrash) {
		t.Fatalf("interrupted run = %v; want the crash", err)
	}
	var done, left int
	if err := pg.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE surname LIKE 'pii1:v2:%'), count(*) FILTER (WHERE surname LIKE 'pii1:v1:%') FROM reservation_guests`).Scan(&done, &left); err != nil {
		t.Fatal(err)
	}
	if done != 40 || left != 80 {
		t.Fatalf("after the crash %d rows under v2 and %d under v1; want 40 and 80 (two batches committed)", done, left)
	}
	// DynamoDB: crash after 25 items (pages of 10: two saved).
	job := dynamo.ReencryptJob("v2", crashAfter(25, kr.Reencrypt))
	job.PageSize = 10
	if _, err := dynamo.RunGuestJob(ctx, env.DynamoClient(t), env.DynamoTable, pg, job, nil); !errors.Is(err, errCrash) {
		t.Fatalf("interrupted dynamo run = %v; want the crash", err)
	}

	// A live write of a newer version lands between the crash and the resume.
	newer, newerWant := sealedRecords(t, kr, 1, "b")
	newer[0].Reservation.ModifiedAt = "2026-05-05T00:00:00Z"
	nw := newerWant[newer[0].Reservation.Key()]
	nw.ModifiedAt = newer[0].Reservation.ModifiedAt
	if newer[0].Version, err = reservation.VersionOf(&newer[0].Reservation, "999"); err != nil {
		t.Fatal(err)
	}
	writeBoth(t, env, newer)
	want[nw.Key()] = nw

	st, err := pg.RewriteGuests(ctx, pgJob, 20, kr.Reencrypt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Scanned != 80 {
		t.Fatalf("resumed postgres run scanned %d rows; want the 80 left after the last saved batch", st.Scanned)
	}
	job.Rewrite = kr.Reencrypt
	dst, err := dynamo.RunGuestJob(ctx, env.DynamoClient(t), env.DynamoTable, pg, job, nil)
	if err != nil {
		t.Fatal(err)
	}
	if dst.Scanned >= 60 {
		t.Fatalf("resumed dynamo run scanned %d items: it started over", dst.Scanned)
	}
	assertAllUnder(t, env, "v2")
	e2e.AssertStores(t, env, want)
}

// TestPurgeThenNewerVersion: a purged stay (guests and the text of its
// special requests) that gets a newer version holds guest data again and
// is purged again by the next run, in both stores.
func TestPurgeThenNewerVersion(t *testing.T) {
	env, kr, _ := keyedEnv(t)
	ctx := t.Context()
	pg := env.Postgres(t)
	var err error
	recs, want := sealedRecords(t, kr, 5, "p")
	writeBoth(t, env, recs)
	purge := func() int {
		t.Helper()
		n, err := pg.PurgeGuests(ctx, "2026-03-05", 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		st, err := dynamo.RunGuestJob(ctx, env.DynamoClient(t), env.DynamoTable, pg, dynamo.PurgeJob("2026-03-05"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Rewritten != n {
			t.Fatalf("purged %d reservations in postgres but %d items in dynamodb", n, st.Rewritten)
		}
		return n
	}
	if n := purge(); n != 5 {
		t.Fatalf("first purge: %d reservations; want 5", n)
	}
	for k, r := range want {
		r.Guests, r.SpecialRequests = pii.Anonymise(r.Guests), purgedRequests(r.SpecialRequests)
		want[k] = r
	}
	e2e.AssertStores(t, env, want)
	if n := purge(); n != 0 {
		t.Fatalf("second purge: %d reservations; want 0", n)
	}
	// A newer version of one stay arrives: its guests are back, and the
	// next purge takes them again.
	newer, newerWant := sealedRecords(t, kr, 1, "n")
	newer[0].Reservation.ModifiedAt = "2026-05-05T00:00:00Z"
	if newer[0].Version, err = reservation.VersionOf(&newer[0].Reservation, "99"); err != nil {
		t.Fatal(err)
	}
	writeBoth(t, env, newer)
	k := newer[0].Reservation.Key()
	nw := newerWant[k]
	nw.ModifiedAt = newer[0].Reservation.ModifiedAt
	want[k] = nw
	e2e.AssertStores(t, env, want)
	if n := purge(); n != 1 {
		t.Fatalf("purge after the newer version: %d reservations; want 1", n)
	}
	nw.Guests, nw.SpecialRequests = pii.Anonymise(nw.Guests), purgedRequests(nw.SpecialRequests)
	want[k] = nw
	e2e.AssertStores(t, env, want)
}

// purgedRequests is what the purge leaves of special requests: their
// codes and names, not their text.
func purgedRequests(list []reservation.SpecialRequest) []reservation.SpecialRequest {
	out := make([]reservation.SpecialRequest, len(list))
	for i, q := range list {
		out[i] = reservation.SpecialRequest{Code: q.Code, Name: q.Name}
	}
	return out
}
