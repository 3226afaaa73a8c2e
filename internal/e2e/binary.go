package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resingest/resingest/internal/testenv"
)

// buildTimeout bounds one `go build` of the binary on a slow shared machine.
const buildTimeout = 5 * time.Minute

var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Main runs the tests of a package that uses this harness and then removes
// the binary BuildBinary built. Call it from TestMain:
//
//	func TestMain(m *testing.M) { e2e.Main(m) }
//
// It also gives the AWS SDK dummy credentials and a region when none are
// set (dynalite wants signed requests but checks no signature), before any
// test runs, so that tests stay parallel (t.Setenv forbids that).
func Main(m *testing.M) {
	testenv.SetAWSDefaults()
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// BuildBinary builds ./cmd/resingest once per test process and returns the
// path of the binary. Without Main the binary's temporary folder is left
// behind.
func BuildBinary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "resingest-e2e-")
		if build.err != nil {
			return
		}
		build.path = filepath.Join(build.dir, "resingest")
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		root, err := moduleRoot(ctx)
		if err != nil {
			build.err = err
			return
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-o", build.path, "./cmd/resingest")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/resingest: %w\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatalf("build resingest: %v", build.err)
	}
	return build.path
}

// moduleRoot is the folder of the go.mod of the package under test.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// Run runs the binary with args to completion (at most timeout) and
// returns its standard output and standard error. A non-zero exit status
// is returned as the error, not a test failure: some commands (parse)
// report rejected inputs that way.
func Run(t testing.TB, timeout time.Duration, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	bin := BuildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("resingest %s: %w", args[0], ctx.Err())
	}
	return out.Bytes(), errOut.Bytes(), err
}
