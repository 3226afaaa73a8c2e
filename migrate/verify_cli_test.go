package migrate

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resingest/resingest/internal/e2e"
)

// TestBinaryVerify runs 'resingest migrate verify' after a load: exit 0
// and "no differences", then, with one stored version changed, exit 1
// naming the hotel.
func TestBinaryVerify(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	paths := genExtract(t, 1000, 2, true)
	db, url := testDB(t)
	if _, err := New(db, Options{}).Run(ctx, paths); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(paths[0])
	verify := func() (string, error) {
		out, errOut, err := e2e.Run(t, time.Minute, "migrate", "verify", "--from", dir, "--pg-url", url, "--dynamo-mode", "off")
		return string(out) + string(errOut), err
	}
	out, err := verify()
	if err != nil || !strings.Contains(out, "no differences") {
		t.Fatalf("verify after a clean load: %v\n%s", err, out)
	}
	var hotel string
	if err := db.Pool().QueryRow(ctx, `UPDATE reservations SET version = '9' || substr(version, 2)
		WHERE (hotel_code, confirmation) = (SELECT hotel_code, confirmation FROM reservations LIMIT 1)
		RETURNING hotel_code`).Scan(&hotel); err != nil {
		t.Fatal(err)
	}
	out, err = verify()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(out, "hotel "+hotel+" differs") {
		t.Errorf("verify after a change: %v, want exit status 1 naming hotel %s\n%s", err, hotel, out)
	}
}
