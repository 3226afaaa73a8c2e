package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// dynaliteReady bounds a dynalite start.
const dynaliteReady = 30 * time.Second

// keepServing is scripts/dev-services' guard: dynalite rethrows a client's
// aborted request as an uncaught exception and would exit.
const keepServing = `process.on("uncaughtException", (err) => {
  if (err && (err.code === "ECONNRESET" || err.message === "aborted")) return;
  console.error(err);
  process.exit(1);
});
require(process.argv[1]);`

// Dynalite is a DynamoDB (dynalite, in memory) of one test's own, for
// tests that kill it: the shared one must never be. It keeps its port
// across Kill and Start; a started one is empty.
type Dynalite struct {
	cli  string
	port int
	mu   sync.Mutex
	cmd  *exec.Cmd
}

// StartDynalite starts a dynalite child process on a free loopback port
// (the project's npm package: scripts/dev-services deps installs it). It
// is killed when the test ends.
func StartDynalite(t testing.TB) *Dynalite {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dynaliteReady)
	defer cancel()
	root, err := moduleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := &Dynalite{cli: filepath.Join(root, "node_modules", "dynalite", "cli.js")}
	if _, err := os.Stat(d.cli); err != nil {
		t.Fatalf("dynalite is not installed (scripts/dev-services deps, or npm ci): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	t.Cleanup(d.Kill)
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

// Endpoint is the server's URL.
func (d *Dynalite) Endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", d.port) }

// Start starts the server (empty) and returns once it accepts connections.
// Starting a running server does nothing.
func (d *Dynalite) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd != nil {
		return nil
	}
	cmd := exec.Command("node", "-e", keepServing, d.cli, "--host", "127.0.0.1", "--port", fmt.Sprint(d.port),
		"--createTableMs", "5", "--deleteTableMs", "5", "--updateTableMs", "5")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dynalite: %w", err)
	}
	d.cmd = cmd
	addr := fmt.Sprintf("127.0.0.1:%d", d.port)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dynalite on %s did not answer: %v", addr, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Kill kills the server with SIGKILL (its tables are gone with it) and
// waits for it to exit. Killing a stopped server does nothing.
func (d *Dynalite) Kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Kill()
	_ = d.cmd.Wait()
	d.cmd = nil
}
