package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvPostgresBin names the folder of the PostgreSQL server binaries used by
// StartPostgres (default DefaultPostgresBin); the same variable
// scripts/dev-services reads.
const EnvPostgresBin = "RESINGEST_DEV_PG_BIN"

// DefaultPostgresBin is where Debian's postgresql-15 package installs the
// server binaries.
const DefaultPostgresBin = "/usr/lib/postgresql/15/bin"

// pgDatabase is the database StartPostgres creates; URL points at it.
const pgDatabase = "resingest"

// pgReadyTimeout bounds a server start (recovery after a fast shutdown
// included); pgStopTimeout bounds a fast shutdown before the server is
// killed.
const (
	pgReadyTimeout = 60 * time.Second
	pgStopTimeout  = 30 * time.Second
)

// PGInstance is a PostgreSQL server of its own for one test, for tests that
// stop and start the database (outages), which the shared development
// server must never see. Its methods are safe for concurrent use.
type PGInstance struct {
	bin  string
	dir  string // private folder: data/ and postgres.log
	port int
	cred *syscall.Credential // non-nil when running as root

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has been waited for
	waitErr error
}

// StartPostgres initialises and starts a dedicated PostgreSQL server on a
// free loopback port, creates a database and returns the running instance.
// The server is stopped and its files removed when the test ends.
//
// The binaries come from $RESINGEST_DEV_PG_BIN or DefaultPostgresBin; when
// they are missing the test fails (it does not skip). Postgres refuses to
// run as root, so a root test runs the server as the 'postgres' system user
// (as scripts/dev-services does), with its data in a folder that user can
// reach.
func StartPostgres(t testing.TB) *PGInstance {
	t.Helper()
	bin := strings.TrimSpace(os.Getenv(EnvPostgresBin))
	if bin == "" {
		bin = DefaultPostgresBin
	}
	for _, name := range []string{"initdb", "postgres"} {
		if st, err := os.Stat(filepath.Join(bin, name)); err != nil || st.IsDir() {
			t.Fatalf("StartPostgres: %s not found in %s: install Debian's postgresql-15 (scripts/dev-services deps) or set %s to the folder of the server binaries", name, bin, EnvPostgresBin)
		}
	}
	p := &PGInstance{bin: bin}
	if os.Geteuid() == 0 {
		cred, err := postgresUser()
		if err != nil {
			t.Fatalf("StartPostgres: running as root needs the 'postgres' system user (it comes with postgresql-15): %v", err)
		}
		p.cred = cred
	}
	dir, err := os.MkdirTemp(reachableTempDir(), "resingest-pg-")
	if err != nil {
		t.Fatalf("StartPostgres: %v", err)
	}
	p.dir = dir
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), pgStopTimeout+5*time.Second)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Errorf("StartPostgres cleanup: %v", err)
		}
		if err := os.RemoveAll(p.dir); err != nil {
			t.Errorf("StartPostgres cleanup: %v", err)
		}
	})
	if p.cred != nil {
		if err := os.Chown(dir, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			t.Fatalf("StartPostgres: %v", err)
		}
	}
	if err := p.initdb(); err != nil {
		t.Fatalf("StartPostgres: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), pgReadyTimeout)
	defer cancel()
	// The free port is found by binding and releasing it, so another
	// process may take it in between: try a few ports.
	for attempt := 0; ; attempt++ {
		if p.port, err = freePort(); err == nil {
			if err = p.Start(ctx); err == nil {
				break
			}
		}
		if attempt == 2 {
			t.Fatalf("StartPostgres: %v", err)
		}
		t.Logf("StartPostgres: port %d: %v; trying another port", p.port, err)
	}
	if err := p.exec(ctx, "postgres", "CREATE DATABASE "+pgDatabase); err != nil {
		t.Fatalf("StartPostgres: %v", err)
	}
	t.Logf("StartPostgres: PostgreSQL running on 127.0.0.1:%d, data in %s", p.port, p.dataDir())
	return p
}

// URL is the postgres:// URL of the instance's database. It stays the same
// across Stop and Start.
func (p *PGInstance) URL() string { return p.url(pgDatabase) }

// Port is the loopback TCP port the server listens on.
func (p *PGInstance) Port() int { return p.port }

func (p *PGInstance) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=5", p.port, db)
}

func (p *PGInstance) dataDir() string { return filepath.Join(p.dir, "data") }

// Start starts the server on the same data folder and port, and returns
// once it accepts connections. Starting a running instance does nothing.
func (p *PGInstance) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(filepath.Join(p.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("postgres log: %w", err)
	}
	defer logf.Close() // the child keeps its own descriptor
	// A disposable cluster: loopback TCP only (no Unix socket, whose
	// directory may not exist), and no waiting for the disk, which a fast
	// shutdown does not need to keep what was committed. The default of
	// asynchronous commit is on purpose too: the crash tests (Crash)
	// must catch a session that trusts an unflushed commit.
	cmd := exec.Command(filepath.Join(p.bin, "postgres"), "-D", p.dataDir(),
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(p.port),
		"-c", "unix_socket_directories=", "-c", "max_connections=100",
		"-c", "shared_buffers=32MB", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "timezone=UTC", "-c", "log_timezone=UTC")
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	// Pdeathsig: a test binary that dies (timeout, kill) takes its server
	// with it (SIGQUIT is postgres's immediate shutdown).
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Pdeathsig: syscall.SIGQUIT}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited = cmd, exited
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(exited)
	}()

	// Wait for the server to accept connections, outside the lock so that
	// Stop may interrupt a start that hangs.
	p.mu.Unlock()
	err = p.waitReady(ctx, exited)
	p.mu.Lock()
	if err != nil && p.cmd == cmd {
		_ = cmd.Process.Kill()
		<-exited
		p.cmd, p.exited = nil, nil
	}
	return err
}

func (p *PGInstance) waitReady(ctx context.Context, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, pgReadyTimeout)
	defer cancel()
	var last error
	for {
		conn, err := pgx.Connect(ctx, p.url("postgres"))
		if err == nil {
			_ = conn.Close(context.Background())
			return nil
		}
		last = err
		select {
		case <-exited:
			return fmt.Errorf("postgres exited while starting: %v\n%s", p.exitErr(), p.logTail())
		case <-ctx.Done():
			return fmt.Errorf("postgres not ready on port %d: %w (last error: %v)\n%s", p.port, ctx.Err(), last, p.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (p *PGInstance) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// Stop shuts the server down the fast way (SIGINT: open connections are
// cut, committed work is kept) and returns once the process has exited.
// If it has not exited when ctx ends or after 30 s it is killed. Stopping
// a stopped instance does nothing.
func (p *PGInstance) Stop(ctx context.Context) error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd, p.exited = nil, nil
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	timer := time.NewTimer(pgStopTimeout)
	defer timer.Stop()
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
	case <-timer.C:
	}
	_ = cmd.Process.Kill()
	<-exited
	return fmt.Errorf("postgres on port %d did not shut down in time and was killed\n%s", p.port, p.logTail())
}

// initdb creates the cluster as the server's user, with trust
// authentication (loopback only, throw-away data).
func (p *PGInstance) initdb() error {
	cmd := exec.Command(filepath.Join(p.bin, "initdb"), "-D", p.dataDir(), "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("initdb %s: %w\n%s", p.dataDir(), err, out.String())
	}
	return nil
}

func (p *PGInstance) exec(ctx context.Context, db, sql string) error {
	conn, err := pgx.Connect(ctx, p.url(db))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// logTail is the end of the server's log, for failure messages.
func (p *PGInstance) logTail() string {
	b, err := os.ReadFile(filepath.Join(p.dir, "postgres.log"))
	if err != nil {
		return "(no postgres log: " + err.Error() + ")"
	}
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return "postgres log (end):\n" + string(b)
}

// postgresUser is the credential of the 'postgres' system user.
func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, err
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// reachableTempDir is os.TempDir when every folder above it can be entered
// by other users, else /tmp: the server's user must reach its data folder,
// which a TMPDIR under a private home would hide.
func reachableTempDir() string {
	dir := os.TempDir()
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if d == filepath.Dir(d) {
			return dir
		}
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Crash kills the server the way a machine crash or the OOM killer does:
// SIGKILL to the postmaster and to every server process it started, so no
// process writes another byte of WAL. What the server had acknowledged
// but not yet written out (a commit under synchronous_commit=off) is lost;
// what was flushed survives (fsync=off keeps the written WAL in the page
// cache, which a process kill does not clear). Crash returns once every
// process has gone, so that Start (crash recovery) finds the shared memory
// free. Crashing a stopped instance does nothing.
func (p *PGInstance) Crash() error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd, p.exited = nil, nil
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	children := childPIDs(cmd.Process.Pid)
	_ = cmd.Process.Kill()
	for _, pid := range children {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	<-exited
	// Children started between the listing and the kill exit by
	// themselves once the postmaster is gone; wait for all of them.
	deadline := time.Now().Add(pgStopTimeout)
	for _, pid := range append(children, childPIDs(cmd.Process.Pid)...) {
		for alive(pid) {
			if time.Now().After(deadline) {
				return fmt.Errorf("postgres on port %d: server process %d still running after the crash", p.port, pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// childPIDs lists the processes whose parent is pid (from /proc).
func childPIDs(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := procStat(child); ok && ppid == pid {
			out = append(out, child)
		}
	}
	return out
}

// alive reports whether pid is a process that has not exited (a zombie,
// which holds no memory, counts as gone).
func alive(pid int) bool {
	_, state, ok := procStat(pid)
	return ok && state != 'Z' && state != 'X'
}

// procStat reads the parent and state of pid from /proc/PID/stat.
func procStat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0][0], err == nil
}
