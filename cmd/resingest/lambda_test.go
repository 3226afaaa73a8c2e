package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/resingest/resingest/internal/e2e"
)

// lambdaFixture is the handler's Kinesis event fixture: ten records of one
// shard, the third a malformed (poison) message.
var lambdaFixture = filepath.Join("..", "..", "lambdahandler", "testdata", "kinesis-event.json")

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// lambdaRun runs 'resingest lambda' in-process with args, configured from
// the environment like the function is, and returns stdout and the error.
func lambdaRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	// The command installs its JSON logger as the default; give the other
	// tests theirs back.
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	var stdout, stderr bytes.Buffer
	root := newRootCmd()
	root.SetArgs(append([]string{"lambda"}, args...))
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return stdout.String(), err
}

// TestLambdaEventCommand runs `resingest lambda --event FILE` on the
// fixture against the local services. It sets environment variables, so
// it does not run in parallel.
func TestLambdaEventCommand(t *testing.T) {
	for name, value := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"} {
		if os.Getenv(name) == "" {
			t.Setenv(name, value)
		}
	}
	raw, err := os.ReadFile(lambdaFixture)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.KinesisEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	seq := func(i int) string { return ev.Records[i].Kinesis.SequenceNumber }
	const poison = 2
	tests := []struct {
		name string
		// env overrides the stores' settings for the first run.
		env func(s *e2e.Stores) map[string]string
		// wantOut is the first run's standard output; wantErr, when set,
		// is part of its error instead.
		wantOut, wantErr string
		// wantAudit is how many records the first run acknowledged.
		wantAudit int
	}{
		{
			name:    "stores reachable",
			env:     func(*e2e.Stores) map[string]string { return nil },
			wantOut: `{"batchItemFailures":[]}` + "\n", wantAudit: len(ev.Records),
		},
		{
			// Connection refused is transient: retried until the deadline
			// margin, then the first sub-batch's first record is reported.
			name: "DynamoDB unreachable",
			env: func(*e2e.Stores) map[string]string {
				return map[string]string{"RESINGEST_DYNAMO_ENDPOINT": "http://" + closedPort(t), "RESINGEST_TIMEOUT": "3s", "RESINGEST_DEADLINE_MARGIN": "1s"}
			},
			wantOut: `{"batchItemFailures":[{"itemIdentifier":"` + seq(0) + `"}]}` + "\n",
		},
		{
			// Nothing can be judged: a function error, no response.
			name: "Postgres unreachable",
			env: func(s *e2e.Stores) map[string]string {
				return map[string]string{"RESINGEST_PG_URL": "postgres://postgres@" + closedPort(t) + "/resingest?sslmode=disable&connect_timeout=2"}
			},
			wantErr: "open the stores",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e2e.Env(t)
			base := map[string]string{
				"RESINGEST_PG_URL": s.PostgresURL, "RESINGEST_DYNAMO_ENDPOINT": s.DynamoEndpoint,
				"RESINGEST_DYNAMO_TABLE": s.DynamoTable, "RESINGEST_SINKS": "postgres,dynamo", "RESINGEST_BATCH_SIZE": "4",
			}
			for k, v := range base {
				t.Setenv(k, v)
			}
			for k, v := range tt.env(s) {
				t.Setenv(k, v)
			}
			start := time.Now()
			out, err := lambdaRun(t, "--event", lambdaFixture)
			t.Logf("first run: %s", time.Since(start).Round(time.Millisecond))
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || out != "" {
					t.Fatalf("stdout %q, err %v; want no response and an error containing %q", out, err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("lambda --event: %v", err)
			case out != tt.wantOut:
				t.Fatalf("response\n%s\nwant\n%s", out, tt.wantOut)
			}
			if n := len(s.AuditRows(t)); n != tt.wantAudit {
				t.Errorf("%d audit rows after the first run, want %d", n, tt.wantAudit)
			}

			// Lambda retries the whole event (the reported record is the
			// first); with the stores back it converges.
			for k, v := range base {
				t.Setenv(k, v)
			}
			t.Setenv("RESINGEST_TIMEOUT", "1m")
			out, err = lambdaRun(t, "--event", lambdaFixture)
			if err != nil || out != `{"batchItemFailures":[]}`+"\n" {
				t.Fatalf("retry: stdout %q, err %v; want no failures", out, err)
			}
			var positions []string
			for _, a := range s.AuditRows(t) {
				positions = append(positions, a.Position)
			}
			slices.Sort(positions)
			want := make([]string, len(ev.Records))
			for i := range want {
				want[i] = seq(i)
			}
			slices.Sort(want)
			if !slices.Equal(positions, want) {
				t.Errorf("audit positions %v, want one per record %v", positions, want)
			}
			letters := s.DeadLetters(t)
			if len(letters) != 1 || letters[0].Position != seq(poison) || letters[0].Source != "kinesis" || letters[0].Partition != "shardId-000000000000" {
				t.Errorf("%d dead letters, want the poison record kinesis/shardId-000000000000/%s once", len(letters), seq(poison))
			}
			if n, m := s.Count(t, "reservations"), len(ev.Records)-1; n > m || n == 0 {
				t.Errorf("postgres holds %d reservations, want 1..%d", n, m)
			}
		})
	}
}

// TestLambdaWithoutRuntime checks that outside Lambda, without --event,
// the command says how to run it instead of failing inside the runtime
// library.
func TestLambdaWithoutRuntime(t *testing.T) {
	t.Setenv(lambdaRuntimeEnv, "")
	t.Setenv("RESINGEST_PG_URL", "postgres://127.0.0.1:1/x")
	_, err := lambdaRun(t)
	if err == nil || !strings.Contains(err.Error(), "--event") {
		t.Fatalf("err %v, want one pointing at --event", err)
	}
}

// TestLambdaTemplateEnvironment checks that every environment variable the
// deployment template sets is read by 'resingest lambda' (a typo would be
// ignored silently and the function run on defaults).
func TestLambdaTemplateEnvironment(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var names []string
	var find func(n *yaml.Node)
	find = func(n *yaml.Node) {
		for i, c := range n.Content {
			if n.Kind == yaml.MappingNode && i%2 == 0 && c.Value == "Variables" && n.Content[i+1].Kind == yaml.MappingNode {
				vars := n.Content[i+1].Content
				for j := 0; j < len(vars); j += 2 {
					names = append(names, vars[j].Value)
				}
			}
			find(c)
		}
	}
	find(&doc)
	if len(names) == 0 {
		t.Fatal("the template sets no environment variable")
	}
	root := newRootCmd()
	cmd, _, err := root.Find([]string{"lambda"})
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	for _, fs := range []*pflag.FlagSet{cmd.Flags(), cmd.InheritedFlags()} {
		fs.VisitAll(func(f *pflag.Flag) { read[envName(f.Name)] = true })
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			if !read[name] {
				t.Errorf("%s sets no flag of 'resingest lambda'", name)
			}
		})
	}
}

// TestLambdaBootstrap runs deploy/bootstrap, the function's entry point,
// with the built binary beside it as in the deployment package: it must
// start 'resingest lambda' (here on the fixture event).
func TestLambdaBootstrap(t *testing.T) {
	s := e2e.Env(t)
	task := filepath.Dir(buildResingest(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join("..", "..", "deploy", "bootstrap"), "--event", lambdaFixture)
	cmd.Env = append(os.Environ(), "LAMBDA_TASK_ROOT="+task,
		"RESINGEST_PG_URL="+s.PostgresURL, "RESINGEST_DYNAMO_ENDPOINT="+s.DynamoEndpoint, "RESINGEST_DYNAMO_TABLE="+s.DynamoTable)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bootstrap: %v\n%s", err, stderr.String())
	}
	if got := stdout.String(); got != `{"batchItemFailures":[]}`+"\n" {
		t.Fatalf("bootstrap printed %q, want an empty partial batch response", got)
	}
	// The function's logs are JSON lines (CloudWatch Logs).
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON: %.80q", line)
		}
	}
	if strings.Contains(stderr.String(), "4111111111111111") {
		t.Errorf("the logs hold the poison record's card number")
	}
	if n := len(s.AuditRows(t)); n != 10 {
		t.Errorf("%d audit rows, want 10", n)
	}
}

// buildResingest builds this command into a temporary folder and returns
// the binary's path.
func buildResingest(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "resingest")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runtimeAPI plays the Lambda runtime API (there is no Lambda here): it
// hands out the invocations of invokes, one per /next, collects the
// responses, and answers the /next after the last one with an error, which
// ends the runtime loop.
type runtimeAPI struct {
	invokes   []runtimeInvoke
	next      atomic.Int32
	responses chan string // "<request id> <body>"
}

type runtimeInvoke struct {
	id       string
	deadline time.Duration // from the /next call
	body     []byte
}

func (a *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2018-06-01/runtime/invocation/"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == prefix+"next":
		i := int(a.next.Add(1)) - 1
		if i >= len(a.invokes) {
			http.Error(w, "no more invocations in this test", http.StatusInternalServerError)
			return
		}
		inv := a.invokes[i]
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(inv.deadline).UnixMilli(), 10))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:resingest-ingest")
		w.Write(inv.body)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, prefix):
		id, kind, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, prefix), "/")
		body, _ := io.ReadAll(r.Body)
		a.responses <- id + " " + kind + " " + string(body)
		w.WriteHeader(http.StatusAccepted)
	default:
		// The extension API (SIGTERM registration) is not played.
		http.NotFound(w, r)
	}
}

// TestLambdaRuntimeAPI runs the built binary under the runtime API loop of
// aws-lambda-go, as Lambda does: two invocations in one process, the
// second with a deadline inside the margin, which must be honoured.
func TestLambdaRuntimeAPI(t *testing.T) {
	s := e2e.Env(t)
	bin := buildResingest(t)
	event, err := os.ReadFile(lambdaFixture)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.KinesisEvent
	if err := json.Unmarshal(event, &ev); err != nil {
		t.Fatal(err)
	}
	api := &runtimeAPI{
		invokes: []runtimeInvoke{
			{id: "req-1", deadline: time.Minute, body: event},
			// The deadline is inside the 2s margin: nothing may be
			// written, everything is handed back from the first record.
			{id: "req-2", deadline: time.Second, body: event},
		},
		responses: make(chan string, 4),
	}
	srv := httptest.NewServer(api)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "lambda")
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(srv.URL, "http://"),
		"RESINGEST_PG_URL="+s.PostgresURL, "RESINGEST_DYNAMO_ENDPOINT="+s.DynamoEndpoint,
		"RESINGEST_DYNAMO_TABLE="+s.DynamoTable, "RESINGEST_DEADLINE_MARGIN=2s")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Errorf("the runtime loop ended without error after the runtime API failed")
	}
	close(api.responses)
	var got []string
	for r := range api.responses {
		got = append(got, r)
	}
	want := []string{
		`req-1 response {"batchItemFailures":[]}`,
		`req-2 response {"batchItemFailures":[{"itemIdentifier":"` + ev.Records[0].Kinesis.SequenceNumber + `"}]}`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("responses\n%s\nwant\n%s\nstderr:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), stderr.String())
	}
	if n := strings.Count(stderr.String(), `"msg":"invocation done"`); n != 2 {
		t.Errorf("%d invocation summaries in the logs, want 2", n)
	}
	if !strings.Contains(stderr.String(), `"request_id":"req-2"`) {
		t.Errorf("the logs do not carry the invocation's request id")
	}
	if n := len(s.AuditRows(t)); n != len(ev.Records) {
		t.Errorf("%d audit rows, want %d", n, len(ev.Records))
	}
}
