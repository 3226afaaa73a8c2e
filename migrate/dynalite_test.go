package migrate

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/resingest/resingest/sinks/dynamo"
)

// privateDynamo starts a dynalite of the test's own (the project's pinned
// npm package, in memory) and returns a client and a fresh table on it.
//
// Tests that abort DynamoDB requests at random use it rather than the
// shared one: dynalite 3 throws when a client drops a request whose body it
// is still reading; it runs under the same guard as the shared instance,
// and a private one keeps any other failure away from the other tests.
func privateDynamo(t *testing.T) *clientTable {
	t.Helper()
	cli, err := filepath.Abs(filepath.Join("..", "node_modules", "dynalite", "cli.js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("dynalite is not installed (scripts/dev-services deps): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	// keepServing is scripts/dev-services' guard: dynalite rethrows a
	// client's aborted request as an uncaught exception and would exit.
	const keepServing = `process.on("uncaughtException", (err) => {
  if (err && (err.code === "ECONNRESET" || err.message === "aborted")) return;
  console.error(err);
  process.exit(1);
});
require(process.argv[1]);`
	cmd := exec.Command("node", "-e", keepServing, cli, "--host", "127.0.0.1", "--port", fmt.Sprint(port),
		"--createTableMs", "5", "--deleteTableMs", "5", "--updateTableMs", "5")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dynalite: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dynalite on %s did not answer: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx := testContext(t)
	c, err := dynamo.NewClient(ctx, "http://"+addr)
	if err != nil {
		t.Fatal(err)
	}
	return &clientTable{client: c, table: newPrivateTable(ctx, t, c)}
}

var privateTables atomic.Int64

func newPrivateTable(ctx context.Context, t *testing.T, c dynamo.TableAPI) string {
	t.Helper()
	name := fmt.Sprintf("backfill-%d", privateTables.Add(1))
	if err := dynamo.EnsureTable(ctx, c, name); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	return name
}
