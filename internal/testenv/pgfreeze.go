package testenv

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Freeze stops the server and every one of its processes (postmaster and
// backends) with SIGSTOP: connections stay open and nothing answers, as a
// hung host or a network partition would leave them. Thaw resumes them.
func (p *PGInstance) Freeze() error { return p.signalAll(syscall.SIGSTOP) }

// Thaw resumes a frozen server (SIGCONT to all its processes).
func (p *PGInstance) Thaw() error { return p.signalAll(syscall.SIGCONT) }

// signalAll sends sig to the postmaster and all its descendants.
func (p *PGInstance) signalAll(sig syscall.Signal) error {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil {
		return errors.New("postgres is not running")
	}
	pids := append([]int{cmd.Process.Pid}, descendants(cmd.Process.Pid)...)
	var errs []error
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("signal %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}

// descendants lists the processes below pid (Linux /proc).
func descendants(pid int) []int {
	var out []int
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if child, err := strconv.Atoi(f); err == nil {
				out = append(out, child)
				out = append(out, descendants(child)...)
			}
		}
	}
	return out
}
