package awsclient

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/prometheus/client_golang/prometheus"
)

// syncBuffer is a log sink safe for the SDK's concurrent requests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSDKRetriesAreVisible points a DynamoDB client built with
// TransportRetryer at an endpoint nobody listens on (a DynamoDB that is
// down): every retry the SDK makes is counted by service and class, the
// first few are logged at DEBUG only, and after them a WARN line names the
// store.
func TestSDKRetriesAreVisible(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	ln.Close() // connections to it are now refused

	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	ObserveRetries(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), reg)
	t.Cleanup(func() { retryObserver.Store(nil) })

	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  aws.AnonymousCredentials{},
		Retryer:      TransportRetryer("dynamo"),
	})
	// Each call makes transportAttempts attempts, so transportAttempts-1
	// retries; three calls are more than quietRetries.
	const calls = 3
	var wg sync.WaitGroup
	for range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := client.ListTables(context.Background(), &dynamodb.ListTablesInput{}); err == nil {
				t.Error("ListTables against a closed port succeeded")
			}
		}()
	}
	wg.Wait()

	want := float64(calls * (transportAttempts - 1))
	if got := retriesCounted(t, reg, "dynamo", "unavailable"); got != want {
		t.Errorf("resingest_aws_sdk_retries_total{service=dynamo,class=unavailable} = %v, want %v\nlog:\n%s", got, want, logs)
	}
	out := logs.String()
	if n := strings.Count(out, "level=DEBUG msg=\"AWS SDK retrying a request\""); n != quietRetries {
		t.Errorf("%d DEBUG retry lines, want the first %d:\n%s", n, quietRetries, out)
	}
	if !strings.Contains(out, `level=WARN msg="AWS SDK retrying requests" store=dynamo class=unavailable`) {
		t.Errorf("no WARN line naming the store after %d retries:\n%s", quietRetries, out)
	}
}

// retriesCounted reads resingest_aws_sdk_retries_total{service,class}
// from reg.
func retriesCounted(t *testing.T, reg *prometheus.Registry, service, class string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "resingest_aws_sdk_retries_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["service"] == service && labels["class"] == class {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
