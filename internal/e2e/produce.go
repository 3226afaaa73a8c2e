package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// produceTimeout bounds one `resingest produce` run.
const produceTimeout = 2 * time.Minute

// Produce sends files, in the given order, one record each, to topic with
// `resingest produce` (the binary). keyed: the record key is the
// confirmation number of the message's first reservation, so the versions
// of a reservation stay on one partition in order; otherwise records carry
// no key and spread over partitions. The topic is created on first use by
// the broker (the dev broker gives it 8 partitions).
func Produce(t testing.TB, brokers []string, topic string, files []string, keyed bool) {
	t.Helper()
	const chunk = 1000 // keeps command lines short
	for start := 0; start < len(files); start += chunk {
		part := files[start:min(start+chunk, len(files))]
		args := []string{"produce", "--brokers", strings.Join(brokers, ","), "--topic", topic}
		if !keyed {
			args = append(args, "--no-keys")
		}
		_, stderr, err := Run(t, produceTimeout, append(args, part...)...)
		if err != nil {
			t.Fatalf("resingest produce: %v\n%s", err, stderr)
		}
		if want := fmt.Sprintf("produce: %d records", len(part)); !strings.Contains(string(stderr), want) {
			t.Fatalf("resingest produce did not report %q:\n%s", want, stderr)
		}
	}
}
