package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/console"
	"github.com/resingest/resingest/ledger"
	"github.com/resingest/resingest/reservation"
)

func resURL(k reservation.Key) string {
	return "/reservations/" + url.PathEscape(k.HotelCode) + "/" + url.PathEscape(k.Confirmation)
}

// piiViews counts the console's rows in pii_access.
func piiViews(t *testing.T, f *fixture, subject string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, f.pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pii_access WHERE caller_kind = 'staff' AND caller_id = $1`, subject).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestConsole drives every page over one corpus stored by the real
// processor into real Postgres, DynamoDB and S3.
func TestConsole(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ops, opsPII := f.token(t, console.RoleOps), f.token(t, console.RoleOpsPII)

	// The reservation with the most messages.
	var key reservation.Key
	for k, idx := range f.byKey {
		if len(idx) > len(f.byKey[key]) || (len(idx) == len(f.byKey[key]) && k.Confirmation < key.Confirmation) {
			key = k
		}
	}
	if len(f.byKey[key]) < 3 {
		t.Fatalf("no reservation with three messages (best %d); change the seed", len(f.byKey[key]))
	}
	first := f.msgs[f.byKey[key][0]].Expect

	t.Run("lineage", func(t *testing.T) {
		code, body := f.get(t, ops, resURL(key))
		if code != http.StatusOK {
			t.Fatalf("status %d:\n%s", code, body)
		}
		for _, i := range f.byKey[key] {
			if id := f.msgs[i].Expect.MessageID; !strings.Contains(body, ">"+id+"<") {
				t.Errorf("the timeline lacks message %s", id)
			}
		}
		if n := strings.Count(body, `class="outcome-stored"`); n != len(f.byKey[key]) {
			t.Errorf("%d stored rows, want %d (every version of one key, in order)", n, len(f.byKey[key]))
		}
		if !strings.Contains(body, "first version seen:") || strings.Count(body, "changed:") != len(f.byKey[key])-1 {
			t.Errorf("want one first version and %d diffs", len(f.byKey[key])-1)
		}
		// Every later version changed modified_at: the diff says so.
		if !regexp.MustCompile(`<td class="field">modified_at</td><td class="from">[^<]*</td><td class="arrow">→</td><td class="to">[^<]+</td>`).MatchString(body) {
			t.Errorf("no modified_at change in the diffs")
		}
		if !strings.Contains(body, `id="agree"`) || strings.Contains(body, `class="differ"`) {
			t.Errorf("the stores should agree, field by field")
		}
		if strings.Contains(body, html.EscapeString(first.Surname)) {
			t.Errorf("role ops sees the guest's surname unmasked")
		}
		if n := strings.Count(body, `<td class="mapping">ota2003</td>`); n != len(f.byKey[key]) {
			t.Errorf("%d messages name their mapping ota2003, want %d", n, len(f.byKey[key]))
		}
	})

	t.Run("ops-pii sees guests and is audited", func(t *testing.T) {
		before := piiViews(t, f, "staff-ops-pii")
		code, body := f.get(t, opsPII, resURL(key))
		if code != http.StatusOK {
			t.Fatalf("status %d:\n%s", code, body)
		}
		last := f.msgs[f.byKey[key][len(f.byKey[key])-1]].Expect
		if !strings.Contains(body, html.EscapeString(last.Surname)) {
			t.Errorf("role ops-pii does not see the guest's surname")
		}
		if got := piiViews(t, f, "staff-ops-pii"); got != before+1 {
			t.Errorf("pii_access rows %d -> %d, want one more", before, got)
		}
		if got := piiViews(t, f, "staff-ops"); got != 0 {
			t.Errorf("role ops wrote %d pii_access rows", got)
		}
	})

	t.Run("archived message", func(t *testing.T) {
		_, body := f.get(t, ops, resURL(key))
		m := regexp.MustCompile(`<a class="raw" href="([^"]+)">XML</a>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no link to an archived message")
		}
		code, page := f.get(t, ops, html.UnescapeString(m[1]))
		if code != http.StatusOK {
			t.Fatalf("status %d:\n%s", code, page)
		}
		if !strings.Contains(page, "&lt;HotelReservation") || !strings.Contains(page, first.MessageID) {
			t.Errorf("the archived message is not shown:\n%s", page)
		}
		if strings.Contains(page, html.EscapeString(first.Surname)) || !strings.Contains(page, "Surname&gt;***&lt;") {
			t.Errorf("role ops sees the archived message's personal data unmasked (surname %q):\n%s", first.Surname, page)
		}
		_, page = f.get(t, opsPII, html.UnescapeString(m[1]))
		if !strings.Contains(page, html.EscapeString(first.Surname)) {
			t.Errorf("role ops-pii does not see the archived surname")
		}
	})

	t.Run("hotel-less cancel resolved", func(t *testing.T) {
		code, body := f.get(t, ops, resURL(f.stripped))
		if code != http.StatusOK {
			t.Fatalf("status %d:\n%s", code, body)
		}
		if !strings.Contains(body, `class="outcome-resolved"`) {
			t.Errorf("the cancel without a hotel code is not shown resolved:\n%s", body)
		}
		if !regexp.MustCompile(`<td>Postgres</td><td><code title="[^"]+">[^<]+</code></td><td>Cancel`).MatchString(body) {
			t.Errorf("Postgres does not show the reservation cancelled:\n%s", body)
		}
	})

	t.Run("search", func(t *testing.T) {
		code, loc := f.get(t, ops, "/search?hotel="+url.QueryEscape(key.HotelCode)+"&confirmation="+url.QueryEscape(key.Confirmation))
		if code != http.StatusSeeOther || loc != resURL(key) {
			t.Errorf("hotel+confirmation: %d %q, want 303 to the reservation", code, loc)
		}
		code, loc = f.get(t, ops, "/search?confirmation="+url.QueryEscape(key.Confirmation))
		if code != http.StatusSeeOther || loc != resURL(key) {
			t.Errorf("confirmation alone: %d %q, want 303 to the one reservation", code, loc)
		}
		email := ""
		for _, i := range f.byKey[key] {
			if e := f.msgs[i].Expect.Email; e != "" {
				email = e
			}
		}
		if email != "" {
			code, body := f.get(t, ops, "/search?email="+url.QueryEscape(strings.ToUpper(email)))
			if !(code == http.StatusSeeOther && body == resURL(key)) && !(code == http.StatusOK && strings.Contains(body, key.Confirmation)) {
				t.Errorf("e-mail: %d %q: the reservation is not found", code, body)
			}
		}
		code, body := f.get(t, ops, "/search?confirmation="+url.QueryEscape(f.held))
		if code != http.StatusOK || !strings.Contains(body, `id="held"`) || !strings.Contains(body, "badge-held") {
			t.Errorf("a held record's confirmation: %d, no held record listed:\n%s", code, section(body, "<main>"))
		} else if m := regexp.MustCompile(`<a class="raw" href="([^"]+)">XML</a>`).FindStringSubmatch(body); m == nil {
			t.Errorf("the held record has no link to its archived message")
		} else if code, page := f.get(t, ops, html.UnescapeString(m[1])); code != http.StatusOK || !strings.Contains(page, f.held) {
			t.Errorf("the held record's archived message: %d %s\n%s", code, m[1], section(page, "<main>"))
		}
		code, body = f.get(t, ops, "/search?confirmation=NO-SUCH-CONF")
		if code != http.StatusOK || !strings.Contains(body, "No stored reservation matches") {
			t.Errorf("unknown confirmation: %d", code)
		}
	})

	t.Run("dead letters and replay", func(t *testing.T) {
		code, body := f.get(t, ops, "/dead-letters")
		if code != http.StatusOK {
			t.Fatalf("status %d:\n%s", code, body)
		}
		ids := regexp.MustCompile(`<a href="/dead-letters/(\d+)">`).FindAllStringSubmatch(body, -1)
		if len(ids) != 2 {
			t.Fatalf("%d dead letters listed, want 2 (poison, dialect):\n%s", len(ids), body)
		}
		letters, err := f.pg.ListDeadLetters(context.Background(), ledger.DeadLetterFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var acme ledger.DeadLetter
		for _, d := range letters {
			if strings.Contains(d.Reason, "ACME_HotelResNotifRQ") {
				acme = d
			}
		}
		if acme.ID == 0 {
			t.Fatalf("no dead letter for the dialect message %s", f.acmeID)
		}
		code, page := f.get(t, ops, fmt.Sprintf("/dead-letters/%d", acme.ID))
		if code != http.StatusOK || !strings.Contains(page, "ACME_HotelResNotifRQ") {
			t.Fatalf("dead letter page: %d\n%s", code, page)
		}
		csrf := csrfOf(t, page)
		form := url.Values{"csrf": {csrf}, "id": {fmt.Sprint(acme.ID)}, "dry_run": {"1"}}
		code, res := f.post(t, ops, "/dead-letters/replay", form, nil)
		if code != http.StatusOK || !strings.Contains(res, `<td id="replayed">1</td>`) {
			t.Fatalf("dry run: %d\n%s", code, res)
		}
		if _, _, err := f.pg.Get(context.Background(), reservation.Key{HotelCode: f.acmeHotel(t), Confirmation: f.acmeConf(t)}); err == nil {
			t.Fatalf("the dry run stored the reservation")
		}
		// Refused without the CSRF token, or from another site.
		bad := url.Values{"id": {fmt.Sprint(acme.ID)}, "dry_run": {"0"}}
		if code, _ := f.post(t, ops, "/dead-letters/replay", bad, nil); code != http.StatusForbidden {
			t.Errorf("replay without CSRF token: %d, want 403", code)
		}
		form.Set("dry_run", "0")
		if code, _ := f.post(t, ops, "/dead-letters/replay", form, map[string]string{"Origin": "https://evil.example"}); code != http.StatusForbidden {
			t.Errorf("replay from another origin: %d, want 403", code)
		}
		code, res = f.post(t, ops, "/dead-letters/replay", form, nil)
		if code != http.StatusOK || !strings.Contains(res, `<td id="replayed">1</td>`) || !strings.Contains(res, `<td id="failing">0</td>`) {
			t.Fatalf("replay: %d\n%s", code, res)
		}
		k := reservation.Key{HotelCode: f.acmeHotel(t), Confirmation: f.acmeConf(t)}
		if _, _, err := f.pg.Get(context.Background(), k); err != nil {
			t.Fatalf("after the replay Postgres does not hold %s: %v", k, err)
		}
		if _, _, err := f.dyn.Get(context.Background(), k); err != nil {
			t.Fatalf("after the replay DynamoDB does not hold %s: %v", k, err)
		}
		code, page = f.get(t, ops, fmt.Sprintf("/dead-letters/%d", acme.ID))
		if code != http.StatusOK || strings.Contains(page, `<dd id="replayed">pending</dd>`) {
			t.Errorf("the letter is not marked replayed")
		}
		// The replayed message's lineage names the mapping that read it.
		if code, page := f.get(t, ops, resURL(k)); code != http.StatusOK || !strings.Contains(page, `<td class="mapping">acme</td>`) {
			t.Errorf("the replayed reservation's page: %d, mapping acme not shown:\n%s", code, section(page, `id="timeline"`))
		}
		code, _ = f.post(t, ops, "/dead-letters/replay", form, nil)
		if code != http.StatusConflict {
			t.Errorf("second replay of one letter: %d, want 409", code)
		}
	})

	t.Run("health and hotels", func(t *testing.T) {
		if _, err := f.srv.CheckAgreement(context.Background(), 50); err != nil {
			t.Fatal(err)
		}
		code, body := f.get(t, ops, "/health?window=1h")
		if code != http.StatusOK {
			t.Fatalf("status %d:\n%s", code, body)
		}
		for _, want := range []string{"<svg class=\"chart\"", "badge-stored", "0 of ", "held"} {
			if !strings.Contains(body, want) {
				t.Errorf("the health page lacks %q", want)
			}
		}
		// The reason links open the dead letters of that reason.
		m := regexp.MustCompile(`<a href="(/dead-letters\?reason=[^"]+)">`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no link from a reason to its dead letters:\n%s", section(body, `id="reasons"`))
		}
		if code, list := f.get(t, ops, html.UnescapeString(m[1])); code != http.StatusOK || !strings.Contains(list, `<a href="/dead-letters/`) {
			t.Errorf("%s: %d, no letter listed", m[1], code)
		}
		code, body = f.get(t, ops, "/hotels?window=24h&sort=messages")
		if code != http.StatusOK {
			t.Fatalf("hotels: status %d:\n%s", code, body)
		}
		if !regexp.MustCompile(`<td>` + key.HotelCode + `</td><td class="mapping">[^<]*ota2003`).MatchString(body) {
			t.Errorf("the hotel %s is not listed with its feed's mapping:\n%s", key.HotelCode, section(body, `id="hotels"`))
		}
	})

	t.Run("access", func(t *testing.T) {
		for name, tok := range map[string]string{"none": "", "garbage": "x.y.z", "guest-like": f.guestLikeToken(t)} {
			code, body := f.get(t, tok, resURL(key))
			if code != http.StatusUnauthorized || strings.Contains(body, key.Confirmation+"</") {
				t.Errorf("%s: %d, want 401 without data", name, code)
			}
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, p := range []string{
			"/reservations/" + strings.Repeat("H", 65) + "/X",
			"/reservations/H%00/X",
			"/search?confirmation=%07abc",
			"/search?email=%EE%80%80x",
			"/dead-letters?hotel=" + strings.Repeat("h", 65),
			"/search?hotel=H1",
			"/search",
			"/dead-letters?since=yesterday",
			"/dead-letters?before=-3",
			"/dead-letters/abc",
			"/health?window=3y",
			"/hotels?sort=drop",
			"/messages?key=",
			"/messages?key=no/such/object",
			"/nowhere",
		} {
			code, _ := f.get(t, ops, p)
			if code < 400 || code >= 500 {
				t.Errorf("%s: %d, want 4xx", p, code)
			}
		}
	})
}
