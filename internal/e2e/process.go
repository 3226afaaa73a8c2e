package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a running resingest command (a worker). Its standard output
// and error are kept in memory and logged when the test fails. It is
// killed when the test ends if it is still running.
type Process struct {
	Cmd  *exec.Cmd
	out  lockedBuffer
	done chan struct{}
	err  error // valid once done is closed
}

// Start runs the binary with args in the background. env adds
// NAME=value variables to the test process's environment (for example
// RESINGEST_LOG_LEVEL=debug).
func Start(t testing.TB, env []string, args ...string) *Process {
	t.Helper()
	bin := BuildBinary(t)
	p := &Process{Cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = &p.out, &p.out
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start resingest %v: %v", args, err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.Cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of resingest %v (pid %d):\n%s", args, p.Cmd.Process.Pid, p.Output())
		}
	})
	return p
}

// Signal sends sig (syscall.SIGKILL, syscall.SIGTERM, ...) to the process.
func (p *Process) Signal(sig os.Signal) error {
	if err := p.Cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	return nil
}

// Kill sends SIGKILL and waits until the process is gone.
func (p *Process) Kill() {
	_ = p.Signal(syscall.SIGKILL)
	<-p.done
}

// Wait waits for the process to exit, at most timeout (then it is killed
// and an error returned), and returns its exit error (nil for status 0).
func (p *Process) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("resingest did not exit within %s (killed)", timeout)
	}
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Output returns what the process wrote so far (stdout and stderr).
func (p *Process) Output() string { return p.out.String() }

// lockedBuffer is a bytes.Buffer that the process's writers and the test
// may use at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
