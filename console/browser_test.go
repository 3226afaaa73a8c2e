package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/resingest/resingest/console"
	"github.com/resingest/resingest/reservation"
)

// screenshotEnv, when set to a file path, makes TestConsoleInBrowser save
// its screenshot of the lineage page there (the README's picture:
// RESINGEST_CONSOLE_SCREENSHOT=$PWD/docs/console-lineage.png).
const screenshotEnv = "RESINGEST_CONSOLE_SCREENSHOT"

// browser starts Debian's headless Chromium (a test dependency, installed
// by scripts/dev-services deps) with the flags a closed network needs.
func browser(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the browser test needs Debian's chromium on PATH (scripts/dev-services deps installs it): %v", err)
	}
	// Chromium's helpers may still write its profile for a moment after
	// it exits: removed with retries rather than by t.TempDir's cleanup.
	profile, err := os.MkdirTemp("", "console-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("chromium profile %s left behind", profile)
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.UserDataDir(profile), chromedp.WindowSize(1400, 1000),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	return ctx, func() { cancelTimeout(); cancelCtx(); cancelAlloc() }
}

// TestConsoleInBrowser drives the console in Chromium as staff would: sign
// in with an ops token, find a reservation, read its timeline and diffs,
// open an archived message (masked), replay a dead letter after fixing its
// mapping (dry run first) and see it stored; then sign in as ops-pii, see
// the guest's name and a pii_access row written for the view.
func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, cancel := browser(t)
	defer cancel()
	base := f.ts.URL
	var key reservation.Key
	for k, idx := range f.byKey {
		if len(idx) > len(f.byKey[key]) || (len(idx) == len(f.byKey[key]) && k.Confirmation < key.Confirmation) {
			key = k
		}
	}
	n := len(f.byKey[key])
	first := f.msgs[f.byKey[key][0]].Expect

	signin := func(role string) chromedp.Tasks {
		return chromedp.Tasks{
			chromedp.Navigate(base + "/signin"),
			chromedp.WaitVisible(`#token`, chromedp.ByID),
			chromedp.SendKeys(`#token`, f.token(t, role), chromedp.ByID),
			chromedp.Click(`#signin`, chromedp.ByID),
			chromedp.WaitVisible(`#search`, chromedp.ByID),
		}
	}
	var role, timeline, stores string
	var shot []byte
	err := chromedp.Run(ctx,
		signin(console.RoleOps),
		chromedp.Text(`#role`, &role, chromedp.ByID),
		chromedp.SendKeys(`#hotel`, key.HotelCode, chromedp.ByID),
		chromedp.SendKeys(`#confirmation`, key.Confirmation, chromedp.ByID),
		chromedp.Click(`#find`, chromedp.ByID),
		chromedp.WaitVisible(`#timeline`, chromedp.ByID),
		chromedp.Text(`#timeline`, &timeline, chromedp.ByID),
		chromedp.Text(`#stores`, &stores, chromedp.ByID),
		chromedp.CaptureScreenshot(&shot),
	)
	if err != nil {
		t.Fatalf("search and timeline: %v", err)
	}
	if role != console.RoleOps {
		t.Errorf("signed in as %q, want ops", role)
	}
	if !strings.Contains(timeline, fmt.Sprintf("Timeline (%d messages)", n)) || strings.Count(timeline, "stored") < n {
		t.Errorf("the timeline does not list the %d stored versions:\n%s", n, timeline)
	}
	if strings.Count(timeline, "changed:") != n-1 || !strings.Contains(timeline, "modified_at") {
		t.Errorf("the timeline lacks the %d diffs:\n%s", n-1, timeline)
	}
	if strings.Contains(timeline, first.Surname) || !strings.Contains(stores, "Postgres and DynamoDB hold the same version") {
		t.Errorf("ops sees the surname, or the stores' agreement is not shown:\n%s", stores)
	}
	if path := os.Getenv(screenshotEnv); path != "" {
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	} else if err := os.WriteFile(filepath.Join(t.TempDir(), "lineage.png"), shot, 0o600); err != nil || len(shot) < 10000 {
		t.Errorf("screenshot of %d bytes: %v", len(shot), err)
	}

	var xml string
	err = chromedp.Run(ctx,
		chromedp.Click(`a.raw`, chromedp.ByQuery),
		chromedp.WaitVisible(`#xml`, chromedp.ByID),
		chromedp.Text(`#xml`, &xml, chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("archived message: %v", err)
	}
	if !strings.Contains(xml, "<Surname>***</Surname>") || strings.Contains(xml, first.Surname) || !strings.Contains(xml, first.MessageID) {
		t.Errorf("the archived message is not shown masked:\n%s", xml)
	}

	// The dialect message's dead letter: dry run, then replay.
	acme := reservation.Key{HotelCode: f.acme.HotelCode, Confirmation: f.acme.Confirmation}
	var letterURL, dry, done, after string
	err = chromedp.Run(ctx,
		chromedp.Navigate(base+"/dead-letters"),
		chromedp.WaitVisible(`#letters`, chromedp.ByID),
		chromedp.Click(`//td[contains(., "ACME_HotelResNotifRQ")]/preceding-sibling::td/a`, chromedp.BySearch),
		chromedp.WaitVisible(`#replay-one`, chromedp.ByID),
		chromedp.Location(&letterURL),
		chromedp.Click(`#dry-run`, chromedp.ByID),
		chromedp.WaitVisible(`#summary`, chromedp.ByID),
		chromedp.Text(`#summary`, &dry, chromedp.ByID),
		chromedp.ActionFunc(func(ctx context.Context) error { return chromedp.Navigate(letterURL).Do(ctx) }),
		chromedp.WaitVisible(`#replay`, chromedp.ByID),
		chromedp.Click(`#replay`, chromedp.ByID),
		chromedp.WaitVisible(`#summary`, chromedp.ByID),
		chromedp.Text(`#summary`, &done, chromedp.ByID),
		chromedp.Navigate(base+resURL(acme)),
		chromedp.WaitVisible(`#stores`, chromedp.ByID),
		chromedp.Text(`#stores`, &after, chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("dead letter replay: %v", err)
	}
	if !strings.Contains(dry, "Would be replayed\t1") && !strings.Contains(dry, "Would be replayed 1") {
		t.Errorf("dry run summary:\n%s", dry)
	}
	if !strings.Contains(done, "stored") || !strings.Contains(done, "Still failing (left pending)\t0") && !strings.Contains(done, "Still failing (left pending) 0") {
		t.Errorf("replay summary:\n%s", done)
	}
	if strings.Contains(after, "not stored") || !strings.Contains(after, "Postgres and DynamoDB hold the same version") {
		t.Errorf("after the replay the stores do not hold %s:\n%s", acme, after)
	}

	// ops-pii: the guest's name, and the view recorded.
	before := piiViews(t, f, "staff-ops-pii")
	var fields string
	err = chromedp.Run(ctx,
		chromedp.Click(`.whoami button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#token`, chromedp.ByID),
		signin(console.RoleOpsPII),
		chromedp.Navigate(base+resURL(key)),
		chromedp.WaitVisible(`#fields`, chromedp.ByID),
		chromedp.Text(`#fields`, &fields, chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("ops-pii: %v", err)
	}
	last := f.msgs[f.byKey[key][n-1]].Expect
	if !strings.Contains(fields, last.Surname) {
		t.Errorf("ops-pii does not see the surname %q:\n%s", last.Surname, fields)
	}
	if got := piiViews(t, f, "staff-ops-pii"); got != before+1 {
		t.Errorf("pii_access rows of the ops-pii user: %d -> %d, want one more", before, got)
	}
}
