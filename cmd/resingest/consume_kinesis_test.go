package main

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestConsumeKinesisFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no stream", []string{"--source", "kinesis"}, "--source kinesis needs --stream"},
		{"unknown source", []string{"--source", "sqs"}, `--source "sqs": must be kafka, kinesis or file`},
		{"bad start position", []string{"--source", "kinesis", "--stream", "s", "--start-position", "EARLIEST"},
			`--start-position "EARLIEST": must be TRIM_HORIZON, LATEST or AT_TIMESTAMP`},
		{"timestamp missing", []string{"--source", "kinesis", "--stream", "s", "--start-position", "AT_TIMESTAMP"},
			"--start-position AT_TIMESTAMP needs --start-timestamp (RFC 3339)"},
		{"timestamp malformed", []string{"--source", "kinesis", "--stream", "s", "--start-position", "AT_TIMESTAMP", "--start-timestamp", "yesterday"},
			`--start-timestamp "yesterday": not an RFC 3339 time`},
		{"timestamp without AT_TIMESTAMP", []string{"--source", "kinesis", "--stream", "s", "--start-timestamp", "2026-01-01T00:00:00Z"},
			"--start-timestamp needs --start-position AT_TIMESTAMP"},
		{"batch too large", []string{"--source", "kinesis", "--stream", "s", "--batch-size", "20000"},
			"--batch-size 20000: Kinesis returns at most 10000 records per call"},
		{"zero lease duration", []string{"--source", "kinesis", "--stream", "s", "--lease-duration", "0s"},
			"--lease-duration must be positive"},
		{"negative take interval", []string{"--source", "kinesis", "--stream", "s", "--take-interval", "-1s"},
			"--take-interval must be >= 0, --shard-sync-interval and --idle-poll > 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stderr, err := runCLI(t, append([]string{"consume"}, tc.args...)...)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("consume %v: error %v, want %q (stderr %q)", tc.args, err, tc.want, stderr)
			}
		})
	}
}

func TestConsumeKinesisDefaults(t *testing.T) {
	var f consumeFlags
	f.kinesis.register(&cobra.Command{}) // sets the defaults
	f.kinesis.stream = "orders"
	if err := f.kinesis.validate(100); err != nil {
		t.Fatal(err)
	}
	if f.kinesis.leaseTable != "resingest-leases-orders" {
		t.Errorf("lease table %q, want resingest-leases-orders", f.kinesis.leaseTable)
	}
	host, _ := os.Hostname()
	if want := host + "-" + strconv.Itoa(os.Getpid()); f.kinesis.workerID != want {
		t.Errorf("worker id %q, want %q", f.kinesis.workerID, want)
	}
	if f.kinesis.startPosition != "TRIM_HORIZON" || f.kinesis.leaseDuration.String() != "10s" {
		t.Errorf("defaults: start %s, lease duration %s", f.kinesis.startPosition, f.kinesis.leaseDuration)
	}
	if !strings.HasPrefix(envName("kinesis-endpoint"), "RESINGEST_KINESIS_ENDPOINT") {
		t.Errorf("--kinesis-endpoint reads %s, want RESINGEST_KINESIS_ENDPOINT", envName("kinesis-endpoint"))
	}
}
